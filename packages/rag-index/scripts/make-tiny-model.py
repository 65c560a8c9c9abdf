#!/usr/bin/env python3
"""Builds a tiny, deterministic BERT-style feature-extraction model for testing the transformers
embedder offline: a WordPiece tokenizer over common Chinese e-commerce characters and ASCII, and an
ONNX graph (token + type embeddings, masked, tanh) that outputs `last_hidden_state`.

Not a language model: similar texts get similar vectors only because they share characters. It
exists so tests load a real model through @huggingface/transformers with no download.

Usage (Debian python3-onnx + numpy): /usr/bin/python3 scripts/make-tiny-model.py src/__fixtures__/models
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out_root = sys.argv[1] if len(sys.argv) > 1 else "src/__fixtures__/models"
out = os.path.join(out_root, "tiny-bert-zh")
os.makedirs(os.path.join(out, "onnx"), exist_ok=True)

CHARS = (
    "的一是不了人我在有他这中大来上个们到说国和地也子时道出而要于就下得可你年生自会那后能对着事其里所去行过家十用发天如然作方成者多日都三小军二无同么经法当起与好看学进种将还分此心前面又定见只主没公从"
    "商品材质料面发货退款换物流快递单号补上时间何适用季节调光控制方式推荐套装版本款型区别规格信号情况养护方法包装数量反馈密封性漏水症状生锈褪色气泡排"
    "支付订单详情页截图实拍摄售后异常失败购车店铺活动优惠券领取账户个信息投诉举报平台介入外部其他类别图片评论区跟踪列表聊天客服消费者"
    "请问吗呢啊哦亲您好谢在嗯哪什怎么多少钱价便宜贵买卖新旧大小黑白红蓝颜色尺码号寸斤克毫升"
)
seen = []
for c in CHARS:
    if c not in seen:
        seen.append(c)
vocab_list = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + seen + list("abcdefghijklmnopqrstuvwxyz0123456789") + list(".,?!:;-'\"()，。？！：；")
vocab = {t: i for i, t in enumerate(vocab_list)}
V, H = len(vocab_list), 16

rng = np.random.RandomState(0)
emb = (rng.randn(V, H) * 0.5).astype(np.float32)
emb[0] = 0.0
types = (rng.randn(2, H) * 0.05).astype(np.float32)

nodes = [
    helper.make_node("Gather", ["word_embeddings", "input_ids"], ["tok"], axis=0),
    helper.make_node("Gather", ["token_type_embeddings", "token_type_ids"], ["typ"], axis=0),
    helper.make_node("Add", ["tok", "typ"], ["sum"]),
    helper.make_node("Tanh", ["sum"], ["act"]),
    helper.make_node("Cast", ["attention_mask"], ["maskf"], to=TensorProto.FLOAT),
    helper.make_node("Unsqueeze", ["maskf", "axes"], ["mask3"]),
    helper.make_node("Mul", ["act", "mask3"], ["last_hidden_state"]),
]
graph = helper.make_graph(
    nodes,
    "tiny-bert-zh",
    [
        helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
        helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"]),
        helper.make_tensor_value_info("token_type_ids", TensorProto.INT64, ["batch", "seq"]),
    ],
    [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "seq", H])],
    initializer=[
        numpy_helper.from_array(emb, "word_embeddings"),
        numpy_helper.from_array(types, "token_type_embeddings"),
        numpy_helper.from_array(np.array([-1], dtype=np.int64), "axes"),
    ],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)], producer_name="llm-ir")
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, os.path.join(out, "onnx", "model.onnx"))

special = lambda t: {"id": vocab[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
tokenizer = {
    "version": "1.0",
    "truncation": None,
    "padding": None,
    "added_tokens": [special(t) for t in ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]],
    "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True, "strip_accents": None, "lowercase": True},
    "pre_tokenizer": {"type": "BertPreTokenizer"},
    "post_processor": {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
        "pair": [
            {"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
            {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "[SEP]", "type_id": 1}},
        ],
        "special_tokens": {t: {"id": t, "ids": [vocab[t]], "tokens": [t]} for t in ["[CLS]", "[SEP]"]},
    },
    "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
    "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": vocab},
}
with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
    json.dump(tokenizer, f, ensure_ascii=False)
with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
    json.dump({"tokenizer_class": "BertTokenizer", "do_lower_case": True, "model_max_length": 512, "cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]", "unk_token": "[UNK]", "mask_token": "[MASK]"}, f)
with open(os.path.join(out, "config.json"), "w") as f:
    json.dump({"model_type": "bert", "architectures": ["BertModel"], "hidden_size": H, "vocab_size": V, "num_hidden_layers": 1, "num_attention_heads": 1, "intermediate_size": H, "max_position_embeddings": 512, "type_vocab_size": 2}, f)
print(f"wrote {out}: vocab {V}, hidden {H}")
