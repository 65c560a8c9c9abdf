// @llm-ir/augmentation: Chinese and English text augmentation that never touches protected tokens.
import { createRng } from '@llm-ir/core/run';
import { augmentText } from '@llm-ir/augmentation';
import { protectedSpans } from '@llm-ir/augmentation/ops';

const zh = '请问这款保温杯什么时候补货？我想买2个黑色的/:068 <image>';
for (let seed = 0; seed < 3; seed++) console.log(await augmentText(zh, [{ op: 'synonym', rate: 0.4 }, { op: 'reorder', p: 0.5 }], createRng(seed)));
console.log('protected:', protectedSpans(zh));
const en = 'My parcel arrived broken, I want a refund for order SF1234567890.';
console.log(await augmentText(en, [{ op: 'synonym', rate: 0.5 }], createRng(1)));
