import type { Socket } from "node:net";

/**
 * Reads RFC 6587 octet-counted frames off a socket, one call per frame.
 * `onFrame` returning false stops reading (the frames after it are ignored).
 */
export function readFrames(socket: Socket, onFrame: (frame: string) => boolean | void): void {
  let buf = Buffer.alloc(0);
  let stopped = false;
  socket.on("error", () => undefined);
  socket.on("data", (d: Buffer) => {
    if (stopped) return;
    buf = Buffer.concat([buf, d]);
    for (;;) {
      const sp = buf.indexOf(0x20);
      if (sp < 0) return;
      const len = Number(buf.subarray(0, sp).toString());
      if (buf.length < sp + 1 + len) return;
      const frame = buf.subarray(sp + 1, sp + 1 + len).toString();
      buf = buf.subarray(sp + 1 + len);
      if (onFrame(frame) === false) {
        stopped = true;
        return;
      }
    }
  });
}
