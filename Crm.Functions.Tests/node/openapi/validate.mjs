// Validates the server's OpenAPI document against the OpenAPI 3.1 specification (schema and semantic rules
// such as unique operationIds). Prints "valid" or the errors. Usage: node validate.mjs URL
import { validate } from '@readme/openapi-parser';

const response = await fetch(process.argv[2]);
if (!response.ok) throw new Error(`GET ${process.argv[2]} answered ${response.status}`);
const document = await response.json();
if (document.openapi !== '3.1.0') {
  console.error(`expected openapi 3.1.0, got ${document.openapi}`);
  process.exit(1);
}
const result = await validate(document);
if (!result.valid) {
  console.error(JSON.stringify(result.errors, null, 2));
  process.exit(1);
}
if (result.warnings?.length) console.log(JSON.stringify(result.warnings));
console.log('valid');
