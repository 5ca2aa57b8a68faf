// A budget of bytes shared by its holders: each takes a weight, and waits
// (in arrival order) while the others' weights leave no room for it. One
// weight larger than the whole budget is let in alone, so nothing waits forever.
export class ByteBudget {
  private held = 0;
  /** The most bytes held at once so far. */
  peakHeld = 0;
  private holders = 0;
  private readonly waiting: { bytes: number; admit: () => void }[] = [];

  constructor(readonly budget: number) {}

  /** Resolves with its release (safe to call twice) once `bytes` fit beside the current holders. */
  async acquire(bytes: number): Promise<() => void> {
    const weight = Math.max(0, bytes);
    if (this.waiting.length || !this.fits(weight)) await new Promise<void>((admit) => this.waiting.push({ bytes: weight, admit }));
    else this.take(weight);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held -= weight;
      this.holders--;
      this.admitWaiting();
    };
  }

  private fits(bytes: number): boolean {
    return this.holders === 0 || this.held + bytes <= this.budget;
  }

  private take(bytes: number): void {
    this.held += bytes;
    if (this.held > this.peakHeld) this.peakHeld = this.held;
    this.holders++;
  }

  private admitWaiting(): void {
    while (this.waiting.length && this.fits(this.waiting[0]!.bytes)) {
      const next = this.waiting.shift()!;
      this.take(next.bytes);
      next.admit();
    }
  }
}
