/**
 * The seed's sample event, declared the way a user (or `stellanow generate`) would, and the sample
 * messages the benchmarks send.
 */
import { Field, Message, Model } from "@stellanow/sdk"

export class PhoneNumberModel extends Model.Class<PhoneNumberModel>("PhoneNumberModel")({
  country_code: Field.optional(Field.Integer),
  number: Field.optional(Field.Integer)
}) {}

export class UserDetailsUpdateMessage extends Message.Class<UserDetailsUpdateMessage>("UserDetailsUpdateMessage")({
  event: "user_details_update",
  entities: ["patron"],
  fields: {
    user_id: Field.String,
    phone_number: Field.optional(PhoneNumberModel)
  }
}) {}

/** The project the benchmarks send for. */
export const project = {
  organizationId: "7d163820-6a2c-4bd4-9b5a-3f4b2f8a1c11",
  projectId: "9c9da21c-0d5e-4f57-8a51-2d7c9e6b3f22"
} as const

/** The seed README's sample message number `i`. */
export const sample = (i: number): UserDetailsUpdateMessage =>
  new UserDetailsUpdateMessage({
    patron: "12345",
    user_id: `user_${i}`,
    phone_number: new PhoneNumberModel({ country_code: 44, number: 753594 + i })
  })
