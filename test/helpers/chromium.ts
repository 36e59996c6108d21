import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";

export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

type Params = Record<string, unknown>;
interface Message {
  id?: number;
  method?: string;
  params?: Params;
  result?: Params;
  error?: { message: string };
  sessionId?: string;
}

/**
 * A headless Debian chromium driven over the Chrome DevTools Protocol, on
 * the `ws` package: one page, its console errors, exceptions and network
 * requests collected as they come.
 */
export class HeadlessPage {
  readonly problems: string[] = [];
  readonly requests: string[] = [];
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: Params) => void; reject: (e: Error) => void }>();
  private readonly listeners: ((m: Message) => void)[] = [];

  private constructor(
    private readonly browser: ChildProcess,
    private readonly socket: WebSocket,
    private readonly profile: string,
    private sessionId = "",
  ) {
    socket.on("error", (err) => this.problems.push(`DevTools socket: ${err.message}`));
    socket.on("close", () => {
      for (const w of this.waiting.values()) w.reject(new Error("DevTools socket closed"));
      this.waiting.clear();
    });
    socket.on("message", (data) => {
      const m = JSON.parse(data.toString()) as Message;
      if (m.id !== undefined) {
        const w = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        if (m.error) w?.reject(new Error(m.error.message));
        else w?.resolve(m.result ?? {});
        return;
      }
      if (m.method === "Runtime.consoleAPICalled" && (m.params?.type === "error" || m.params?.type === "assert")) this.problems.push(`console.${m.params.type}: ${JSON.stringify(m.params.args)}`);
      if (m.method === "Runtime.exceptionThrown") this.problems.push(`exception: ${JSON.stringify(m.params?.exceptionDetails)}`);
      if (m.method === "Log.entryAdded" && (m.params?.entry as Params)?.level === "error") this.problems.push(`log: ${(m.params?.entry as Params).text}`);
      if (m.method === "Network.requestWillBeSent") this.requests.push(String((m.params?.request as Params).url));
      for (const l of this.listeners) l(m);
    });
  }

  static async launch(): Promise<HeadlessPage> {
    const profile = mkdtempSync(join(tmpdir(), "chromium-"));
    const browser = spawn(CHROMIUM, ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars", `--user-data-dir=${profile}`, "--remote-debugging-port=0", "--window-size=1280,900", "about:blank"], { stdio: ["ignore", "ignore", "pipe"] });
    const url = await new Promise<string>((resolve, reject) => {
      let text = "";
      browser.stderr!.setEncoding("utf8").on("data", (d: string) => {
        text += d;
        const m = /DevTools listening on (ws:\/\/\S+)/.exec(text);
        if (m) resolve(m[1]);
      });
      browser.on("exit", (code) => reject(new Error(`chromium exited (${code}) before DevTools was up: ${text}`)));
      browser.on("error", reject);
    });
    const socket = new WebSocket(url, { perMessageDeflate: false });
    await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
    const page = new HeadlessPage(browser, socket, profile);
    const { targetId } = await page.send("Target.createTarget", { url: "about:blank" });
    const { sessionId } = await page.send("Target.attachToTarget", { targetId, flatten: true });
    page.sessionId = String(sessionId);
    for (const domain of ["Page", "Runtime", "Log", "Network"]) await page.send(`${domain}.enable`);
    return page;
  }

  send(method: string, params: Params = {}): Promise<Params> {
    const id = this.nextId++;
    const message: Message = { id, method, params, ...(this.sessionId ? { sessionId: this.sessionId } : {}) };
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.socket.send(JSON.stringify(message));
    });
  }

  /** Navigates and resolves once the page's load event has fired. */
  async open(url: string): Promise<void> {
    const loaded = new Promise<void>((resolve) => this.listeners.push((m) => m.method === "Page.loadEventFired" && resolve()));
    await this.send("Page.navigate", { url });
    await loaded;
  }

  /** The value of an expression evaluated in the page (awaited when it is a promise). */
  async evaluate<T>(expression: string): Promise<T> {
    const r = await this.send("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true });
    if (r.exceptionDetails) throw new Error(`in the page: ${JSON.stringify(r.exceptionDetails)}`);
    return (r.result as { value: T }).value;
  }

  async pressEnter(): Promise<void> {
    for (const type of ["keyDown", "keyUp"]) await this.send("Input.dispatchKeyEvent", { type, key: "Enter", code: "Enter", windowsVirtualKeyCode: 13, ...(type === "keyDown" ? { text: "\r" } : {}) });
  }

  async screenshot(): Promise<Buffer> {
    const { data } = await this.send("Page.captureScreenshot", { format: "png", captureBeyondViewport: true });
    return Buffer.from(String(data), "base64");
  }

  async close(): Promise<void> {
    // the close handshake first: a socket cut by the browser's exit would raise an error nobody awaits
    if (this.socket.readyState !== WebSocket.CLOSED) await new Promise((resolve) => (this.socket.once("close", resolve), this.socket.close()));
    if (this.browser.exitCode === null && this.browser.signalCode === null) {
      const exited = new Promise((resolve) => this.browser.once("exit", resolve));
      this.browser.kill();
      await exited;
    }
    rmSync(this.profile, { recursive: true, force: true });
  }
}
