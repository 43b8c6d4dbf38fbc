// Just the part of jsfive (pure-JS HDF5 reader, no types shipped) that the Keras reader uses.
declare module 'jsfive' {
  export class Group {
    readonly name: string;
    readonly keys: string[];
    readonly attrs: Record<string, unknown>;
    get(path: string): Group | Dataset;
  }
  export class File extends Group {
    constructor(buffer: ArrayBuffer, filename?: string);
  }
  export class Dataset {
    readonly name: string;
    readonly value: ArrayLike<number | bigint>;
    readonly shape: number[];
    readonly dtype: string | object;
    readonly attrs: Record<string, unknown>;
  }
}
