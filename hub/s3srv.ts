import { startEmbeddedS3 } from './src/storage/embedded-s3';
const s3 = await startEmbeddedS3({ directory: '/tmp/s3srv', bucket: 'edgeloop', port: 45999 });
console.log(JSON.stringify(s3.credentials));
