import type { XmlEvents } from "./scanner.js";
import { Char } from "./syntax.js";

const XML_NS = "http://www.w3.org/XML/1998/namespace";

/** An element open around a batch, as forBatch takes it. */
export interface Ancestor {
  name: string;
  ns: Record<string, string> | null;
}

/**
 * The open elements, whoever reads them (saxes or the quick path): their
 * names, namespace declarations, and which of them is skipped unread or read
 * by the quick path. Opening and closing one tells the caller's events.
 */
export class OpenElements {
  /** Qualified names of the open elements, and their local names beside. */
  readonly names: string[] = [];
  private readonly locals: string[] = [];
  private readonly nsFrames: (Record<string, string> | null)[] = [];
  /** Depth of the element whose content is skipped unread, 0 if none. */
  skipDepth = 0;
  /** `</name` of the skipped element. */
  skipClose = "";
  /** Depth of the open quick element (the outermost, if one is inside another), 0 if none. */
  quickDepth = 0;
  /** Depths of the open quick elements, outermost first (a TestResult inside a quick Benchmark). */
  private readonly quickLevels: number[] = [];
  /** uriOf's answers while no namespace is declared or undeclared (a frame opened or closed). */
  private readonly uris = new Map<string, string | undefined>();
  /** namespacesInScope's answer, until the declarations in scope change. */
  private scope?: Record<string, string>;

  constructor(
    private readonly events: XmlEvents,
    private readonly quick: ReadonlySet<string>,
    /** Called when a quick element closes; `outermost`: the one at quickDepth. */
    private readonly onLeaveQuick: (outermost: boolean) => void,
  ) {}

  get depth(): number {
    return this.names.length;
  }

  /** The innermost open element's qualified name. */
  get innermost(): string {
    return this.names[this.names.length - 1];
  }

  /** True while a quick element is open. */
  get inQuick(): boolean {
    return this.quickDepth > 0;
  }

  /** Depth of the innermost open quick element, 0 if none: its children are read whole or cut into batches. */
  get innerQuickDepth(): number {
    return this.quickLevels.length ? this.quickLevels[this.quickLevels.length - 1] : 0;
  }

  /** Opens the elements around a batch, unannounced, and makes the innermost the quick element. */
  openAround(ancestors: Ancestor[]): void {
    for (const a of ancestors) {
      this.names.push(a.name);
      this.locals.push(localOf(a.name));
      this.nsFrames.push(a.ns);
    }
    this.declarationsChanged();
    this.quickDepth = this.names.length;
    this.quickLevels.push(this.quickDepth);
  }

  ancestors(): Ancestor[] {
    return this.names.map((name, i) => ({ name, ns: this.nsFrames[i] }));
  }

  /** `declares`: false when the attributes are known to hold no xmlns declaration. */
  open(name: string, attributes: Record<string, string>, selfClosing: boolean, declares: boolean): void {
    let frame: Record<string, string> | null = null;
    if (declares) {
      for (const key in attributes) {
        if (key.charCodeAt(0) === Char.LowerX && isNamespaceDeclaration(key)) {
          frame ??= {};
          frame[key] = attributes[key];
        }
      }
    }
    const local = localOf(name);
    if (frame) this.declarationsChanged();
    this.nsFrames.push(frame);
    this.names.push(name);
    this.locals.push(local);
    if (this.skipDepth > 0) return;
    const skip = this.events.open({ name, local, attributes, selfClosing });
    if (selfClosing) return;
    if (skip) {
      this.skipDepth = this.names.length;
      this.skipClose = `</${name}`;
    } else if (this.quick.has(local)) {
      if (this.quickDepth === 0) this.quickDepth = this.names.length;
      this.quickLevels.push(this.names.length);
    }
  }

  /** Closes the innermost element. */
  close(): void {
    this.names.pop();
    const local = this.locals.pop()!;
    if (this.nsFrames.pop()) this.declarationsChanged();
    if (this.skipDepth > 0) {
      if (this.names.length >= this.skipDepth) return;
      this.skipDepth = 0;
    }
    if (this.names.length < this.innerQuickDepth) {
      this.quickLevels.pop();
      const outermost = this.names.length < this.quickDepth;
      if (outermost) this.quickDepth = 0;
      this.onLeaveQuick(outermost);
    }
    this.events.close(local);
  }

  /** The namespace declarations in scope (`xmlns:p` and `xmlns` keys), the innermost winning. */
  namespacesInScope(): Readonly<Record<string, string>> {
    // one object while no declaration comes or goes: every kept Rule of a Benchmark asks (~600 in a real ARF)
    if (this.scope) return this.scope;
    const scope: Record<string, string> = {};
    for (const frame of this.nsFrames) if (frame) Object.assign(scope, frame);
    return (this.scope = scope);
  }

  /** Namespace URI of a qualified name, as declared on the open elements. */
  uriOf(qname: string): string | undefined {
    const known = this.uris.get(qname);
    if (known !== undefined || this.uris.has(qname)) return known;
    const uri = this.lookUp(qname);
    // a handful of names in a real document; a crafted one could name a million
    if (this.uris.size >= 1024) this.uris.clear();
    this.uris.set(qname, uri);
    return uri;
  }

  private declarationsChanged(): void {
    this.uris.clear();
    this.scope = undefined;
  }

  private lookUp(qname: string): string | undefined {
    const colon = qname.indexOf(":");
    const prefix = colon < 0 ? "" : qname.slice(0, colon);
    if (prefix === "xml") return XML_NS;
    const key = prefix ? `xmlns:${prefix}` : "xmlns";
    for (let i = this.nsFrames.length - 1; i >= 0; i--) {
      const frame = this.nsFrames[i];
      if (frame && key in frame) return frame[key] || undefined;
    }
    return undefined;
  }
}

/** True for an attribute that declares a namespace (`xmlns`, `xmlns:p`). */
export function isNamespaceDeclaration(key: string): boolean {
  return key === "xmlns" || key.startsWith("xmlns:");
}

/** A qualified name without its prefix. */
export function localOf(name: string): string {
  const colon = name.indexOf(":");
  return colon < 0 ? name : name.slice(colon + 1);
}
