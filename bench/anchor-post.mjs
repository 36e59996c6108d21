// The anchors' way of sending (mozdef_client, MIG's gozdef publisher): one POST per event,
// sequentially, each on a new connection.
import { request } from "node:http";
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";

const url = new URL(process.argv[2]);
const post = (body) =>
  new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: "POST", agent: false, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on("end", resolve);
    });
    req.on("error", reject);
    req.end(body);
  });
for await (const line of createInterface({ input: createReadStream(process.argv[3]) })) if (line) await post(line);
