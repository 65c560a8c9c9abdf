// Builds a corpus of bad inputs for tests: real images made with sharp, then broken on purpose.
import { mkdtemp, mkdir, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';

const INTENT_TAIL =
  '<用户与客服的对话 END>\n请直接只输出分类标签结果，不需要其他多余的话。以下是可以参考的分类标签为：["反馈密封性不好","是否好用","是否会生锈","排水方式","包装区别","发货数量","反馈用后症状","商品材质","功效功能","是否易褪色","适用季节","能否调光","版本款型区别","单品推荐","用法用量","控制方式","上市时间","商品规格","信号情况","养护方法","套装推荐","何时上货","气泡"]\n';
const INTENT_HEAD = '你是一个电商客服专家，请根据用户与客服的多轮对话判断用户的意图分类标签。\n<用户与客服的对话 START>\n';
const SCENE =
  'Picture 1: <image>\n你是一个电商领域识图专家,可以理解消费者上传的软件截图或实物拍摄图。现在,请你对消费者上传的图片进行分类。你只需要回答图片分类结果,不需要其他多余的话。以下是可以参考的分类标签,分类标签:["实物拍摄(含售后)","商品分类选项","商品头图","商品详情页截图","下单过程中出现异常（显示购买失败浮窗）","订单详情页面","支付页面","消费者与客服聊天页面","评论区截图页面","物流页面-物流列表页面","物流页面-物流跟踪页面","物流页面-物流异常页面","退款页面","退货页面","换货页面","购物车页面","店铺页面","活动页面","优惠券领取页面","账单/账户页面","个人信息页面","投诉举报页面","平台介入页面","外部APP截图","其他类别图片"]。';

/** A challenge scene row (official prompt) for image `name`. */
export function sceneRow(id: string, name: string, label = '退款页面') {
  return { id, instruction: SCENE, input: '', output: label, image: [name] };
}

/** A challenge intent row (official prompt) whose dialogue has the given lines (`用户: ...` / `客服: ...`). */
export function intentRow(id: string, lines: string[], images: string[], label = '何时上货') {
  return { id, instruction: `${INTENT_HEAD}${lines.map((l) => `${l}\n`).join('')}${INTENT_TAIL}`, input: '', output: label, image: images };
}

/** Every bad case of {@link makeBadCorpus}: row index and the problem code expected there. */
export const EXPECTED_PROBLEMS: Array<{ row: number; code: string; field?: string }> = [
  { row: 1, code: 'image-truncated' },
  { row: 2, code: 'image-empty' },
  { row: 3, code: 'image-too-large' },
  { row: 4, code: 'path-escape' },
  { row: 5, code: 'placeholder-mismatch' },
  { row: 6, code: 'unknown-label' },
  { row: 7, code: 'image-missing' },
  { row: 8, code: 'empty-dialogue' },
  { row: 9, code: 'duplicate-id' },
  { row: 10, code: 'image-corrupt' },
  { row: 11, code: 'path-escape' },
  { row: 12, code: 'invalid-row' },
];

/**
 * Makes a temporary folder with `images/` (good, truncated, empty, 60000x60000-header, garbage,
 * link-out files) and `bad.json` (good rows 0 and 13, bad rows 1-12 as {@link EXPECTED_PROBLEMS} lists).
 */
export async function makeBadCorpus(): Promise<{ dir: string; file: string; images: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'llm-ir-bad-'));
  const images = join(dir, 'images');
  await mkdir(images);
  const good = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#3366cc' } })
    .composite([{ input: Buffer.from('<svg width="64" height="48"><rect x="8" y="8" width="30" height="20" fill="#fff"/></svg>'), top: 0, left: 0 }])
    .jpeg({ quality: 90 })
    .toBuffer();
  await writeFile(join(images, 'good.jpg'), good);
  await writeFile(join(images, 'good2.png'), await sharp(good).png().toBuffer());
  const noisy = await sharp({ create: { width: 320, height: 240, channels: 3, background: '#888', noise: { type: 'gaussian', mean: 128, sigma: 40 } } })
    .jpeg({ quality: 90 })
    .toBuffer();
  await writeFile(join(images, 'truncated.jpg'), noisy.subarray(0, Math.floor(noisy.length * 0.6)));
  await writeFile(join(images, 'empty.jpg'), Buffer.alloc(0));
  // a valid PNG signature and IHDR claiming 60000 x 60000 pixels, with no image data behind it
  const png = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } }).png().toBuffer();
  const huge = Buffer.from(png);
  huge.writeUInt32BE(60000, 16);
  huge.writeUInt32BE(60000, 20);
  await writeFile(join(images, 'huge.png'), huge);
  await writeFile(join(images, 'garbage.jpg'), Buffer.from('this is not an image at all, just text pretending'));
  await writeFile(join(dir, 'outside.jpg'), good);
  await symlink(join(dir, 'outside.jpg'), join(images, 'link-out.jpg'));
  const rows: unknown[] = [
    sceneRow('ok-scene', 'good.jpg'),
    sceneRow('truncated', 'truncated.jpg'),
    sceneRow('empty', 'empty.jpg'),
    sceneRow('huge', 'huge.png'),
    sceneRow('escape', '../../etc/passwd'),
    intentRow('two-placeholders', ['用户: <image>', '客服: 您好', '用户: <image>'], ['good.jpg']),
    sceneRow('unknown-label', 'good.jpg', '不存在的标签'),
    sceneRow('missing', 'nope.jpg'),
    { id: 'empty-dialogue', instruction: `${INTENT_HEAD}${INTENT_TAIL}`, input: '', output: '何时上货', image: [] },
    sceneRow('ok-scene', 'good2.png'),
    sceneRow('garbage', 'garbage.jpg'),
    sceneRow('link-out', 'link-out.jpg'),
    { id: 'no-instruction', input: '', output: '退款页面', image: ['good.jpg'] },
    intentRow('ok-intent', ['用户: <image>', '客服: 亲，在的', '用户: 什么时候补货？'], ['good2.png']),
  ];
  const file = join(dir, 'bad.json');
  await writeFile(file, JSON.stringify(rows, null, 2));
  return { dir, file, images };
}
