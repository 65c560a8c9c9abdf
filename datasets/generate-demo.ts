// Generates the embedded demo dataset in the challenge format: both tasks, all 48 labels, phone
// screenshots rendered with sharp, dialogues with images. Seeded and deterministic: the same seed
// gives byte-identical files. Usage:
//   npx tsx --conditions=@llm-ir/source datasets/generate-demo.ts [--out datasets/demo] [--per-label 3] [--seed 7]
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { CJK_FONT, useCjkFont } from '../scripts/cjk-font.mjs';
import { INTENT_LABELS, SCENE_LABELS, createRng, writeChallengeFile, type Rng, type Sample, type Turn } from '@llm-ir/core';

const { values } = parseArgs({
  options: { out: { type: 'string', default: 'datasets/demo' }, 'per-label': { type: 'string', default: '3' }, seed: { type: 'string', default: '7' } },
});
const OUT = values.out!;
const PER_LABEL = Number(values['per-label']);
const rng = createRng(Number(values.seed));

/** What a screenshot of each scene shows: a title bar and a few lines of page text. */
const SCENE_PAGES: Record<string, { title: string; lines: string[]; accent: string }> = {
  '实物拍摄(含售后)': { title: '', lines: [], accent: '#8a6d3b' },
  商品分类选项: { title: '选择规格', lines: ['颜色分类', '黑色  白色  灰色', '尺码  S  M  L  XL', '数量 1'], accent: '#ff5000' },
  商品头图: { title: '', lines: ['新品上市', '限时特惠 ¥89'], accent: '#e4393c' },
  商品详情页截图: { title: '商品详情', lines: ['产品参数', '材质：纯棉', '产地：浙江', '适用季节：四季'], accent: '#333333' },
  '下单过程中出现异常（显示购买失败浮窗）': { title: '确认订单', lines: ['购买失败', '商品库存不足，请稍后再试', '我知道了'], accent: '#ff5000' },
  订单详情页面: { title: '订单详情', lines: ['订单编号 2024****3321', '实付款 ¥128.00', '下单时间 2024-09-18', '复制'], accent: '#ff5000' },
  支付页面: { title: '支付宝', lines: ['支付成功', '¥56.90', '付款方式 余额宝', '完成'], accent: '#1677ff' },
  消费者与客服聊天页面: { title: '店小蜜', lines: ['您好，请问有什么可以帮您？', '我想问一下发货时间', '亲，48小时内发货哦'], accent: '#ff5000' },
  评论区截图页面: { title: '评价(2000+)', lines: ['质量很好，物流很快', '追评：用了一周没问题', '有图 追评 好评'], accent: '#ff5000' },
  '物流页面-物流列表页面': { title: '我的物流', lines: ['运输中 中通快递', '已签收 韵达快递', '派送中 顺丰速运'], accent: '#ff5000' },
  '物流页面-物流跟踪页面': { title: '物流详情', lines: ['【杭州市】已发出', '【上海转运中心】已到达', '派件员正在为您派件'], accent: '#ff5000' },
  '物流页面-物流异常页面': { title: '物流详情', lines: ['物流异常', '包裹超时未更新', '联系快递员'], accent: '#e4393c' },
  退款页面: { title: '退款详情', lines: ['退款成功', '退款金额 ¥39.90', '退回至 支付宝'], accent: '#ff5000' },
  退货页面: { title: '退货详情', lines: ['请寄回商品', '退货地址 浙江省杭州市***', '填写退货单号'], accent: '#ff5000' },
  换货页面: { title: '换货详情', lines: ['换货申请已提交', '等待商家确认', '换货原因 尺码不合适'], accent: '#ff5000' },
  购物车页面: { title: '购物车(3)', lines: ['全选', '合计 ¥267.00', '结算(3)'], accent: '#ff5000' },
  店铺页面: { title: '官方旗舰店', lines: ['关注', '粉丝数 120万', '首页 宝贝 新品'], accent: '#222222' },
  活动页面: { title: '双11狂欢', lines: ['满300减50', '跨店满减', '立即抢购'], accent: '#e4393c' },
  优惠券领取页面: { title: '领券中心', lines: ['¥20 满199可用', '立即领取', '店铺优惠券'], accent: '#e4393c' },
  '账单/账户页面': { title: '账单', lines: ['本月支出 ¥1,284.50', '交易明细', '红包 卡券'], accent: '#1677ff' },
  个人信息页面: { title: '个人信息', lines: ['头像', '昵称 t**1', '收货地址管理'], accent: '#333333' },
  投诉举报页面: { title: '投诉商家', lines: ['投诉原因', '商品与描述不符', '提交'], accent: '#ff5000' },
  平台介入页面: { title: '平台介入', lines: ['小二已介入处理', '请在3天内上传凭证', '协商历史'], accent: '#ff5000' },
  外部APP截图: { title: '京东', lines: ['我的订单', '待收货', '短信 10:24'], accent: '#e1251b' },
  其他类别图片: { title: '', lines: ['hello', '2024'], accent: '#777777' },
};

/** Customer questions per intent (a few phrasings; the generator adds noise and product words). */
const INTENT_QUESTIONS: Record<string, string[]> = {
  反馈密封性不好: ['盖子盖不紧会漏水', '这个杯子漏水怎么办', '密封不好，装汤会洒'],
  是否好用: ['这个好用吗', '用起来方便不', '值得买吗好不好用'],
  是否会生锈: ['会不会生锈啊', '沾水以后会生锈吗', '不锈钢的会不会锈'],
  排水方式: ['洗衣机是上排水还是下排水', '热水器怎么排水', '排水管接哪里'],
  包装区别: ['礼盒装和普通装有什么区别', '简装和精装一样吗', '两种包装内容一样吗'],
  发货数量: ['拍一件发几个', '一份是几包', '下单数量1是发一双吗'],
  反馈用后症状: ['用完脸上起痘了', '吃了以后肚子不舒服', '涂了皮肤发红发痒'],
  商品材质: ['这是什么材质的', '面料是纯棉吗', '里面填充的是什么'],
  功效功能: ['这个有什么功效', '能美白吗', '有没有除螨功能'],
  是否易褪色: ['洗了会掉色吗', '会不会褪色', '颜色洗几次会不会变'],
  适用季节: ['夏天能穿吗', '冬天用会不会冷', '春秋季节适合吗'],
  能否调光: ['亮度可以调吗', '灯光能调节吗', '可以调暖光吗'],
  版本款型区别: ['标准版和升级版有什么区别', '这两个型号哪里不一样', 'pro和普通款区别'],
  单品推荐: ['有没有适合油皮的推荐', '帮我推荐一款', '哪款适合送人'],
  用法用量: ['一次用多少', '怎么使用', '一天吃几次'],
  控制方式: ['可以用手机控制吗', '有遥控器吗', '能连app吗'],
  上市时间: ['这款什么时候上市的', '是最新款吗', '哪年出的'],
  商品规格: ['多少毫升', '一盒有几片', '净重多少克'],
  信号情况: ['信号好不好', '信号差怎么办', '地下室有信号吗'],
  养护方法: ['怎么保养', '皮面怎么清洁', '需要上油吗'],
  套装推荐: ['有套装吗', '推荐一套护肤的', '组合买哪套划算'],
  何时上货: ['什么时候补货', '还会上新吗', '缺货什么时候有'],
  气泡: ['贴膜有气泡怎么办', '怎么贴才不起泡', '膜里面有泡泡'],
};

const AGENT_OPENERS = ['亲，在的，请问有什么可以帮您？', '您好，欢迎光临~', '亲爱的，有什么问题可以问我哦/:068', '抱歉哦，小蜜目前还不能识别图片，您可以简单描述一下遇到的问题吗？'];
const AGENT_REPLIES = ['好的亲，帮您查询一下', '亲，这边给您核实一下哦~', '感谢您的耐心等待', '亲，以页面信息为准哦'];
const PRODUCTS = ['保温杯', '连衣裙', '洗衣机', '台灯', '面霜', '手机', '运动鞋', '钢化膜', '背包', '茶叶'];
const PREFIXES = ['', '', '请问', '你好，', '亲，', '问下'];
const SUFFIXES = ['', '？', '呢', '啊', '～', '?'];

const FONT = CJK_FONT;

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

async function renderScene(label: string, r: Rng): Promise<Buffer> {
  const page = SCENE_PAGES[label]!;
  const width = 300 + r.int(60);
  const height = 600;
  if (label === '实物拍摄(含售后)') {
    // a "photo": a coloured object on a textured background
    const bg = `rgb(${150 + r.int(60)},${140 + r.int(60)},${120 + r.int(60)})`;
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="${bg}"/><ellipse cx="${width / 2}" cy="${height / 2}" rx="${80 + r.int(40)}" ry="${120 + r.int(60)}" fill="${page.accent}"/></svg>`;
    return sharp(Buffer.from(svg)).blur(1.5).jpeg({ quality: 80 }).toBuffer();
  }
  const lines = r.shuffle(page.lines);
  const text = lines
    .map((l, i) => `<text x="20" y="${110 + i * 46}" font-size="${18 + r.int(4)}" font-family="${FONT}" fill="#222">${escapeXml(l)}</text>`)
    .join('');
  const status = `<text x="12" y="18" font-size="13" font-family="${FONT}" fill="#111">${9 + r.int(3)}:${String(r.int(60)).padStart(2, '0')}</text><text x="${width - 60}" y="18" font-size="13" font-family="${FONT}" fill="#111">5G ${40 + r.int(60)}%</text>`;
  const title = page.title
    ? `<rect y="26" width="100%" height="48" fill="${page.accent}"/><text x="${width / 2}" y="58" text-anchor="middle" font-size="20" font-family="${FONT}" fill="#fff">${escapeXml(page.title)}</text>`
    : `<rect y="26" width="100%" height="${200 + r.int(80)}" fill="${page.accent}" opacity="0.6"/>`;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#f5f5f5"/>${status}${title}${text}</svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 70 + r.int(25) }).toBuffer();
}

function question(label: string, r: Rng): string {
  const q = r.pick(INTENT_QUESTIONS[label]!);
  return `${r.pick(PREFIXES)}${r.bernoulli(0.4) ? `这个${r.pick(PRODUCTS)}` : ''}${q}${r.pick(SUFFIXES)}`;
}

async function main(): Promise<void> {
  useCjkFont();
  await mkdir(join(OUT, 'images'), { recursive: true });
  const samples: Sample[] = [];
  for (const label of SCENE_LABELS.names) {
    for (let k = 0; k < PER_LABEL; k++) {
      const r = rng.fork(`scene:${label}:${k}`);
      const id = `demo-scene-${SCENE_LABELS.indexOf(label)}-${k}`;
      const name = `${id}-0.jpg`;
      await writeFile(join(OUT, 'images', name), await renderScene(label, r));
      samples.push({ id, task: 'scene', label, turns: [{ role: 'user', text: '<image>', images: [{ path: name }] }] });
    }
  }
  for (const label of INTENT_LABELS.names) {
    for (let k = 0; k < PER_LABEL; k++) {
      const r = rng.fork(`intent:${label}:${k}`);
      const id = `demo-intent-${INTENT_LABELS.indexOf(label)}-${k}`;
      const turns: Turn[] = [];
      const images: string[] = [];
      if (r.bernoulli(0.7)) {
        const name = `${id}-${images.length}.jpg`;
        images.push(name);
        await writeFile(join(OUT, 'images', name), await renderScene(r.pick(['商品头图', '商品详情页截图', '商品分类选项']), r));
        turns.push({ role: 'user', text: '<image>', images: [{ path: name }] }, { role: 'agent', text: r.pick(AGENT_OPENERS), images: [] });
      }
      if (r.bernoulli(0.3)) turns.push({ role: 'user', text: '<http>', images: [] }, { role: 'agent', text: r.pick(AGENT_REPLIES), images: [] });
      turns.push({ role: 'user', text: question(label, r), images: [] }, { role: 'agent', text: r.pick(AGENT_REPLIES), images: [] });
      samples.push({ id, task: 'intent', label, turns });
    }
  }
  await writeChallengeFile(join(OUT, 'train.json'), samples);
  console.error(`wrote ${samples.length} rows and their images to ${OUT}`);
}

await main();
