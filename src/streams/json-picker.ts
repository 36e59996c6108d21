import { jsonParser } from "stream-json/parser.js";
import Assembler from "stream-json/assembler.js";
import { getManyValues, isMany, none } from "stream-chain/defs.js";
import { StringDecoder } from "node:string_decoder";
import { PipeError, type Position } from "../errors.js";

type Token = { name: string; value?: unknown };
export type JsonPath = readonly (string | number)[];

export interface Picked {
  value: unknown;
  /** Path of the value, e.g. ["commands", 3]. */
  path: JsonPath;
  /** 1-based index of the top-level JSON document it came from. */
  document: number;
}

/**
 * Streams one or more concatenated JSON documents (one per line or run
 * together) and assembles only the values whose path `wanted` accepts, so a
 * document of any size is never held whole: memory is one picked value.
 * Numbers are kept as their source text (64-bit ids must not lose digits).
 */
export class JsonPicker {
  private readonly parse = jsonParser({ packValues: true, streamValues: false, jsonStreaming: true });
  private readonly path: (string | number)[] = [];
  private readonly containers: ("object" | "array")[] = [];
  private key: string | null = null;
  private assembler: Assembler | null = null;
  private assemblerDepth = 0;
  private readonly picked: Picked[] = [];
  private bytes = 0;
  private readonly decoder = new StringDecoder("utf8");
  /** Count of top-level documents started. */
  documents = 0;

  /**
   * `wanted` is asked about values no deeper than `maxDepth` path elements,
   * so tokens below that cost no path building.
   */
  constructor(
    private readonly wanted: (path: JsonPath) => boolean,
    private readonly source = "stdin",
    private readonly maxDepth = Infinity,
  ) {}

  /** Feeds bytes; returns the values completed by them. */
  write(chunk: Buffer | string): Picked[] {
    const text = typeof chunk === "string" ? chunk : this.decoder.write(chunk);
    this.run(() => this.parse(text as never));
    this.bytes += chunk.length;
    return this.picked.splice(0);
  }

  /** Ends the input; throws when a document is incomplete. */
  end(): Picked[] {
    const rest = this.decoder.end();
    if (rest) this.run(() => this.parse(rest as never));
    try {
      this.run(() => this.parse(none as never));
    } catch (err) {
      throw new PipeError("E_BAD_INPUT", "unexpected end of input: JSON document incomplete", { position: this.position(), cause: err });
    }
    if (this.containers.length) throw new PipeError("E_BAD_INPUT", "unexpected end of input: JSON document incomplete", { position: this.position() });
    return this.picked.splice(0);
  }

  position(): Position {
    return { source: this.source, offset: this.bytes };
  }

  private run(step: () => unknown): void {
    let produced: unknown;
    try {
      produced = step();
    } catch (cause) {
      throw new PipeError("E_BAD_INPUT", `invalid JSON: ${(cause as Error).message.replace(/^Parser /, "parser ")}`, { position: this.position(), cause });
    }
    if (typeof produced === "symbol") return;
    const tokens = (isMany(produced) ? getManyValues(produced) : [produced]) as Token[];
    for (const token of tokens) this.consume(token);
  }

  private consume(token: Token): void {
    if (token.name === "keyValue") {
      this.assembler?.consume(token as never);
      this.key = token.value as string;
      return;
    }
    const isStart = token.name === "startObject" || token.name === "startArray";
    const isEnd = token.name === "endObject" || token.name === "endArray";
    if (!this.assembler && !isEnd && this.containers.length <= this.maxDepth && this.wanted(this.childPath())) {
      this.assembler = new Assembler({ numberAsString: true } as never);
      this.assemblerDepth = this.containers.length;
      this.pickedPath = this.childPath();
    }
    this.assembler?.consume(token as never);
    if (!this.containers.length && !isEnd) this.documents++;
    if (isStart) {
      this.push(token.name === "startObject" ? "object" : "array");
      return;
    }
    if (isEnd) this.pop();
    if (this.assembler && this.containers.length === this.assemblerDepth) {
      this.picked.push({ value: this.assembler.current, path: this.pickedPath, document: this.documents });
      this.assembler = null;
    }
    this.advance();
  }

  private pickedPath: JsonPath = [];
  // index bookkeeping for arrays: the path of the next child
  private indexes: number[] = [];

  private childPath(): JsonPath {
    const top = this.containers[this.containers.length - 1];
    if (!top) return [];
    return [...this.path, top === "array" ? this.indexes[this.indexes.length - 1] : (this.key ?? "")];
  }

  /** After a complete child: the next array index, or no key yet. */
  private advance(): void {
    const top = this.containers[this.containers.length - 1];
    if (top === "array") this.indexes[this.indexes.length - 1]++;
    else if (top === "object") this.key = null;
  }

  private push(kind: "object" | "array"): void {
    const top = this.containers[this.containers.length - 1];
    if (top) this.path.push(top === "array" ? this.indexes[this.indexes.length - 1] : (this.key ?? ""));
    this.containers.push(kind);
    this.indexes.push(0);
    this.key = null;
  }

  private pop(): void {
    this.containers.pop();
    this.indexes.pop();
    this.path.pop();
  }
}
