/** A growable ring buffer: O(1) push and pop at both ends (the same as the SDK's in-memory queues'). */
export class Deque<A> {
  private items: Array<A | undefined> = new Array(16)
  private head = 0
  length = 0

  pushBack(item: A): void {
    if (this.length === this.items.length) this.grow()
    this.items[(this.head + this.length) & (this.items.length - 1)] = item
    this.length++
  }

  peekFront(): A | undefined {
    return this.length === 0 ? undefined : this.items[this.head]
  }

  peekBack(): A | undefined {
    return this.length === 0 ? undefined : this.items[(this.head + this.length - 1) & (this.items.length - 1)]
  }

  popFront(): A | undefined {
    if (this.length === 0) return undefined
    const item = this.items[this.head]
    this.items[this.head] = undefined
    this.head = (this.head + 1) & (this.items.length - 1)
    this.length--
    return item
  }

  popBack(): A | undefined {
    if (this.length === 0) return undefined
    const index = (this.head + this.length - 1) & (this.items.length - 1)
    const item = this.items[index]
    this.items[index] = undefined
    this.length--
    return item
  }

  private grow(): void {
    const next: Array<A | undefined> = new Array(this.items.length * 2)
    for (let i = 0; i < this.length; i++) next[i] = this.items[(this.head + i) & (this.items.length - 1)]
    this.items = next
    this.head = 0
  }
}
