// Generates the embedded demo dataset in the challenge format: both tasks, all 48 labels, phone
// screenshots rendered with sharp, dialogues with images. Not trivially separable: page lines come in
// synonyms, confusable pages leak lines into each other, screenshots are cropped, faint or degraded,
// and dialogues carry small talk, typos and a neighbouring intent's question. Seeded and deterministic: the same seed
// gives byte-identical files. Usage:
//   npx tsx --conditions=@llm-ir/source datasets/generate-demo.ts [--out datasets/demo] [--per-label 3] [--seed 7]
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { CJK_FONT, useCjkFont } from '../scripts/cjk-font.mjs';
import { INTENT_LABELS, SCENE_LABELS, type Sample, type Turn } from '@llm-ir/core';
import { writeChallengeFile } from '@llm-ir/core/challenge';
import { createRng, type Rng } from '@llm-ir/core/run';

const { values } = parseArgs({
  options: { out: { type: 'string', default: 'datasets/demo' }, 'per-label': { type: 'string', default: '3' }, seed: { type: 'string', default: '7' } },
});
const OUT = values.out!;
const PER_LABEL = Number(values['per-label']);
const rng = createRng(Number(values.seed));

/**
 * What a screenshot of each scene shows: a title bar and page lines. `a|b|c` are synonyms (one is
 * drawn per screenshot), `near` is a page that is easily confused with this one (its lines leak in),
 * so the scenes are not separable by one keyword even with perfect OCR.
 */
const SCENE_PAGES: Record<string, { title: string; lines: string[]; accent: string; near: string }> = {
  '实物拍摄(含售后)': { title: '', lines: ['净含量500ml|净重250g', 'MADE IN CHINA|合格证'], accent: '#8a6d3b', near: '其他类别图片' },
  商品分类选项: { title: '选择规格|已选', lines: ['颜色分类|颜色', '黑色  白色  灰色|米白 藏青 卡其', '尺码  S  M  L  XL|尺寸 36 37 38', '数量 1|购买数量'], accent: '#ff5000', near: '商品详情页截图' },
  商品头图: { title: '', lines: ['新品上市|爆款热卖', '限时特惠 ¥89|到手价 ¥129', '月销1万+|已售5000+'], accent: '#e4393c', near: '活动页面' },
  商品详情页截图: { title: '商品详情|宝贝详情|图文详情', lines: ['产品参数|规格参数', '材质：纯棉|面料：涤纶', '产地：浙江|品牌：其他', '适用季节：四季|上市时间：2024年秋季'], accent: '#333333', near: '商品分类选项' },
  '下单过程中出现异常（显示购买失败浮窗）': { title: '确认订单|提交订单', lines: ['购买失败|下单失败', '商品库存不足，请稍后再试|当前购买人数过多', '我知道了|返回'], accent: '#ff5000', near: '支付页面' },
  订单详情页面: { title: '订单详情|订单信息', lines: ['订单编号 2024****3321|订单号 4102****87', '实付款 ¥128.00|实付 ¥56.00', '下单时间 2024-09-18|成交时间 2024-10-02', '复制|申请售后'], accent: '#ff5000', near: '物流页面-物流跟踪页面' },
  支付页面: { title: '支付宝|收银台', lines: ['支付成功|付款成功', '¥56.90|¥128.00', '付款方式 余额宝|花呗分期', '完成|确认付款'], accent: '#1677ff', near: '账单/账户页面' },
  消费者与客服聊天页面: { title: '店小蜜|客服', lines: ['您好，请问有什么可以帮您？|亲，在的哦', '我想问一下发货时间|什么时候发货', '亲，48小时内发货哦|已为您催促仓库'], accent: '#ff5000', near: '订单详情页面' },
  评论区截图页面: { title: '评价(2000+)|宝贝评价', lines: ['质量很好，物流很快|挺好的 会回购', '追评：用了一周没问题|用了几天还行', '有图 追评 好评|全部 有图 中差评'], accent: '#ff5000', near: '商品详情页截图' },
  '物流页面-物流列表页面': { title: '我的物流|物流', lines: ['运输中 中通快递|已发货 圆通速递', '已签收 韵达快递|待取件 菜鸟驿站', '派送中 顺丰速运|运输中 申通快递'], accent: '#ff5000', near: '物流页面-物流跟踪页面' },
  '物流页面-物流跟踪页面': { title: '物流详情|查看物流', lines: ['【杭州市】已发出|【广州市】已揽收', '【上海转运中心】已到达|运输中', '派件员正在为您派件|已签收'], accent: '#ff5000', near: '物流页面-物流异常页面' },
  '物流页面-物流异常页面': { title: '物流详情|查看物流', lines: ['物流异常|包裹异常', '包裹超时未更新|物流停滞', '联系快递员|催件'], accent: '#e4393c', near: '物流页面-物流跟踪页面' },
  退款页面: { title: '退款详情|退款进度', lines: ['退款成功|钱款已原路退回', '退款金额 ¥39.90|退款 ¥128.00', '退回至 支付宝|退款原因'], accent: '#ff5000', near: '退货页面' },
  退货页面: { title: '退货详情|退货退款', lines: ['请寄回商品|请退货', '退货地址 浙江省杭州市***|寄回地址', '填写退货单号|填写快递单号'], accent: '#ff5000', near: '退款页面' },
  换货页面: { title: '换货详情|换货', lines: ['换货申请已提交|申请换货', '等待商家确认|商家处理中', '换货原因 尺码不合适|原因 颜色不喜欢'], accent: '#ff5000', near: '退货页面' },
  购物车页面: { title: '购物车(3)|购物车', lines: ['全选|管理', '合计 ¥267.00|合计 ¥89.00', '结算(3)|结算'], accent: '#ff5000', near: '商品分类选项' },
  店铺页面: { title: '官方旗舰店|专营店', lines: ['关注|已关注', '粉丝数 120万|粉丝 8.6万', '首页 宝贝 新品|全部宝贝'], accent: '#222222', near: '活动页面' },
  活动页面: { title: '双11狂欢|年货节|618大促', lines: ['满300减50|每满200减30', '跨店满减|限时秒杀', '立即抢购|去逛逛'], accent: '#e4393c', near: '优惠券领取页面' },
  优惠券领取页面: { title: '领券中心|优惠券', lines: ['¥20 满199可用|¥5 无门槛', '立即领取|去使用', '店铺优惠券|平台券'], accent: '#e4393c', near: '活动页面' },
  '账单/账户页面': { title: '账单|我的账户', lines: ['本月支出 ¥1,284.50|余额 ¥36.20', '交易明细|收支明细', '红包 卡券|花呗 余额宝'], accent: '#1677ff', near: '支付页面' },
  个人信息页面: { title: '个人信息|设置', lines: ['头像|账号与安全', '昵称 t**1|会员名 tb_88', '收货地址管理|我的收货地址'], accent: '#333333', near: '账单/账户页面' },
  投诉举报页面: { title: '投诉商家|举报', lines: ['投诉原因|举报类型', '商品与描述不符|虚假发货', '提交|上传凭证'], accent: '#ff5000', near: '平台介入页面' },
  平台介入页面: { title: '平台介入|申请客服介入', lines: ['小二已介入处理|平台处理中', '请在3天内上传凭证|上传凭证', '协商历史|协商记录'], accent: '#ff5000', near: '投诉举报页面' },
  外部APP截图: { title: '京东|拼多多|抖音', lines: ['我的订单|订单', '待收货|待发货', '短信 10:24|微信'], accent: '#e1251b', near: '订单详情页面' },
  其他类别图片: { title: '', lines: ['hello|ok', '2024|哈哈'], accent: '#777777', near: '实物拍摄(含售后)' },
};

/** Lines found on many pages (tab bars, recommendations): they say nothing about the scene. */
const COMMON_LINES = ['猜你喜欢', '为你推荐', '88VIP 专享', '首页 消息 购物车 我的', '加入购物车 立即购买', '查看更多', '分享', '客服'];

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

/** One of the `a|b|c` synonyms of a line. */
function variant(line: string, r: Rng): string {
  return r.pick(line.split('|'));
}

async function renderScene(label: string, r: Rng): Promise<Buffer> {
  const page = SCENE_PAGES[label]!;
  const width = 300 + r.int(60);
  const height = 600;
  const ink = () => `#${(0x22 + r.int(0x55)).toString(16).padStart(2, '0').repeat(3)}`;
  if (label === '实物拍摄(含售后)') {
    // a "photo": a coloured object on a textured background, sometimes with a printed label on it
    const bg = `rgb(${150 + r.int(60)},${140 + r.int(60)},${120 + r.int(60)})`;
    const tag = r.bernoulli(0.35) ? `<text x="${width / 2 - 50}" y="${height / 2}" font-size="16" font-family="${FONT}" fill="#fff">${escapeXml(variant(r.pick(page.lines), r))}</text>` : '';
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="${bg}"/><ellipse cx="${width / 2}" cy="${height / 2}" rx="${80 + r.int(40)}" ry="${120 + r.int(60)}" fill="${page.accent}"/>${tag}</svg>`;
    return sharp(Buffer.from(svg)).blur(1.5).jpeg({ quality: 80 }).toBuffer();
  }
  // a few of the page's own lines (synonyms drawn), often a line of the confusable page, and common chrome
  const own = r.shuffle(page.lines).slice(0, 2 + r.int(page.lines.length - 1)).map((l) => variant(l, r));
  if (r.bernoulli(0.4)) own.splice(r.int(own.length + 1), 0, variant(r.pick(SCENE_PAGES[page.near]!.lines), r));
  if (r.bernoulli(0.5)) own.push(r.pick(COMMON_LINES));
  const text = own
    .map((l, i) => `<text x="20" y="${110 + i * 46}" font-size="${15 + r.int(7)}" font-family="${FONT}" fill="${ink()}">${escapeXml(l)}</text>`)
    .join('');
  const status = `<text x="12" y="18" font-size="13" font-family="${FONT}" fill="#111">${9 + r.int(3)}:${String(r.int(60)).padStart(2, '0')}</text><text x="${width - 60}" y="18" font-size="13" font-family="${FONT}" fill="#111">5G ${40 + r.int(60)}%</text>`;
  // a quarter of the screenshots are cropped below the title bar
  const title = page.title && r.bernoulli(0.75)
    ? `<rect y="26" width="100%" height="48" fill="${page.accent}"/><text x="${width / 2}" y="58" text-anchor="middle" font-size="20" font-family="${FONT}" fill="#fff">${escapeXml(variant(page.title, r))}</text>`
    : `<rect y="26" width="100%" height="${page.title ? 48 : 200 + r.int(80)}" fill="${page.accent}" opacity="0.6"/>`;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#f5f5f5"/>${status}${title}${text}</svg>`;
  let img = sharp(Buffer.from(svg));
  // some screenshots were forwarded a few times: downscaled and blown up again
  if (r.bernoulli(0.15)) img = sharp(await img.resize({ width: Math.round(width * 0.45) }).png().toBuffer()).resize({ width });
  return img.jpeg({ quality: 60 + r.int(35) }).toBuffer();
}

/** Intents customers mix up with each other: an earlier turn sometimes asks the neighbour's question. */
const INTENT_NEAR: Record<string, string> = {
  单品推荐: '套装推荐', 套装推荐: '单品推荐', 包装区别: '版本款型区别', 版本款型区别: '包装区别', 商品规格: '发货数量', 发货数量: '商品规格',
  是否易褪色: '养护方法', 养护方法: '是否易褪色', 能否调光: '控制方式', 控制方式: '能否调光', 是否好用: '功效功能', 功效功能: '是否好用',
  反馈密封性不好: '气泡', 气泡: '反馈密封性不好', 是否会生锈: '商品材质', 商品材质: '是否会生锈', 上市时间: '何时上货', 何时上货: '上市时间',
  适用季节: '商品材质', 用法用量: '反馈用后症状', 反馈用后症状: '用法用量', 信号情况: '控制方式', 排水方式: '用法用量',
};
/** Small talk before the question. */
const CHITCHAT = ['在吗', '发货了吗', '有优惠吗', '包邮吗', '你好', '能便宜点吗'];

function question(label: string, r: Rng): string {
  let q = r.pick(INTENT_QUESTIONS[label]!);
  // typed in a hurry: a character dropped
  if (r.bernoulli(0.15) && q.length > 4) {
    const at = 1 + r.int(q.length - 2);
    q = q.slice(0, at) + q.slice(at + 1);
  }
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
      if (r.bernoulli(0.3)) turns.push({ role: 'user', text: r.pick(CHITCHAT), images: [] }, { role: 'agent', text: r.pick(AGENT_REPLIES), images: [] });
      // the label is the last question; a neighbouring one asked earlier makes the dialogue ambiguous
      if (r.bernoulli(0.25)) turns.push({ role: 'user', text: question(INTENT_NEAR[label] ?? r.pick(INTENT_LABELS.names), r), images: [] }, { role: 'agent', text: r.pick(AGENT_REPLIES), images: [] });
      turns.push({ role: 'user', text: question(label, r), images: [] }, { role: 'agent', text: r.pick(AGENT_REPLIES), images: [] });
      samples.push({ id, task: 'intent', label, turns });
    }
  }
  await writeChallengeFile(join(OUT, 'train.json'), samples);
  console.error(`wrote ${samples.length} rows and their images to ${OUT}`);
}

await main();
