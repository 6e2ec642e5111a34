import fs from 'node:fs';
import { createS3ObjectStore } from './src/storage/object-store';
const creds = JSON.parse(fs.readFileSync('/tmp/s3srv/.credentials.json','utf8'));
const store = createS3ObjectStore({ endpoint: 'http://127.0.0.1:45999', region: 'us-east-1', bucket: 'edgeloop', credentials: creds, forcePathStyle: true });
const body = new Uint8Array(400);
for (const conc of [8, 32]) {
const t0 = performance.now(); const N=3000; 
let i=0; await Promise.all(Array.from({length:conc}, async()=>{ while(i<N){ const k=i++; await store.put(`objects/${conc}/${k}`, body, {contentType:'image/png'});} }));
console.log(conc, 'puts/s', N/((performance.now()-t0)/1000), process.cpuUsage());
}
