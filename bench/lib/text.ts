/**
 * Field values of realistic sizes, from a seeded PRNG: group names ~20
 * characters, notification and introduction 100-200, faceURL ~60, ex ~30.
 */
const WORDS = (
  'team project weekly sync design review launch support family friends alumni class hiking ' +
  'photo club market update notice welcome rules please read before posting schedule meeting ' +
  'room shared files release notes beta feedback channel study group night shift ops on call'
).split(' ');

export class TextMaker {
  constructor(private readonly rand: () => number) {}

  int(min: number, max: number): number {
    return min + Math.floor(this.rand() * (max - min + 1));
  }

  words(minChars: number, maxChars: number): string {
    const target = this.int(minChars, maxChars);
    let s = '';
    while (s.length < target) s += (s ? ' ' : '') + WORDS[Math.floor(this.rand() * WORDS.length)]!;
    return s.slice(0, target);
  }

  hex(n: number): string {
    let s = '';
    while (s.length < n) s += Math.floor(this.rand() * 0x100000000).toString(16).padStart(8, '0');
    return s.slice(0, n);
  }

  /** The descriptive fields of a group, as a producer's group.created carries them. */
  groupFields() {
    return {
      groupName: this.words(16, 24),
      notification: this.words(100, 200),
      introduction: this.words(100, 200),
      faceURL: `https://cdn.example-im.com/avatar/group/${this.hex(16)}.png`,
      ex: `{"tag":"${this.words(4, 8)}","lvl":${this.int(1, 9)}}`,
    };
  }
}
