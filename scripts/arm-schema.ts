// Writes apps/ablation/arms/arm.schema.json, the JSON Schema of an arm file (for editors), from the
// one arm schema in @llm-ir/trainer-bridge. A test checks the committed file is current.
import { writeFile } from 'node:fs/promises';
import { armJsonSchema } from '@llm-ir/trainer-bridge/arm';

const file = new URL('../apps/ablation/arms/arm.schema.json', import.meta.url);
await writeFile(file, `${JSON.stringify(armJsonSchema(), null, 2)}\n`);
console.log(`wrote ${file.pathname.split('/').slice(-4).join('/')}`);
