// Loopback MozDef stand-in for the benchmark: 200 with an empty body, like MozDef's loginput.
// Counts events (a /_bulk body is a JSON array); GET /count answers the total.
import { createServer } from "node:http";
import { writeFileSync } from "node:fs";

let events = 0;
const server = createServer((req, res) => {
  if (req.method === "GET") return res.end(String(events));
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const doc = JSON.parse(Buffer.concat(chunks).toString());
    events += Array.isArray(doc) ? doc.length : 1;
    res.writeHead(200).end();
  });
});
server.keepAliveTimeout = 30_000;
server.listen(0, "127.0.0.1", () => writeFileSync(process.argv[2], String(server.address().port)));
