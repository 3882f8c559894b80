import { createServer } from 'node:http';
createServer((req, res) => { const chunks = []; req.on('data', (c) => chunks.push(c)); req.on('end', () => { const body = '{"accepted":1}'; res.writeHead(202, { 'content-type': 'application/json', 'content-length': body.length }); res.end(body); }); }).listen(Number(process.argv[2]), '127.0.0.1');
