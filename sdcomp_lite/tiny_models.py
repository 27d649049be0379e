"""Tiny, randomly initialised models built from configs and saved like real checkpoints (no downloads).

For tests and for notebook 06: they exercise the real loading code of each backend, but their
weights are random, so their outputs are meaningless. Never use them to judge quality.

Taught in notebooks/06_bring_your_own_models.ipynb.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

LETTERS = "abcdefghijklmnopqrstuvwxyz"
TINY = {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2}  # every tower


@contextmanager
def seeded(seed: int = 0) -> Iterator[None]:
    """Seed torch's CPU generator for the block, then put the caller's generator state back (no global reseed)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def clip_tokenizer_files(folder: Path) -> tuple[Path, Path]:
    """A character-level CLIP BPE vocabulary: enough to tokenise any lower-case prompt."""
    # id 0 must not be the start token: OWL models treat a query whose first id is 0 as padding
    tokens = ["!", "<|startoftext|>", "<|endoftext|>"] + list(LETTERS) + [c + "</w>" for c in LETTERS]
    tokens += [".", ".</w>", ",", ",</w>"]
    vocab = {token: index for index, token in enumerate(tokens)}
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return folder / "vocab.json", folder / "merges.txt"


def save_tiny_owlv2(folder: Path) -> Path:
    from transformers import CLIPTokenizer, Owlv2Config, Owlv2ForObjectDetection, Owlv2ImageProcessor, Owlv2Processor

    folder.mkdir(parents=True, exist_ok=True)
    vocab, merges = clip_tokenizer_files(folder)
    tokenizer = CLIPTokenizer(str(vocab), str(merges), pad_token="<|endoftext|>", model_max_length=16)
    config = Owlv2Config(
        text_config={**TINY, "vocab_size": len(tokenizer), "max_position_embeddings": 16,
                     "bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id,
                     "pad_token_id": tokenizer.pad_token_id},
        vision_config={**TINY, "image_size": 64, "patch_size": 16},
        projection_dim=16,
    )
    processor = Owlv2Processor(Owlv2ImageProcessor(size={"height": 64, "width": 64}), tokenizer)
    return _save(folder, Owlv2ForObjectDetection, config, processor)


def tiny_sam():
    """A SAM with the real architecture at toy size (64-pixel input, 16-dim embeddings)."""
    from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

    dim = 16
    with seeded():
        return Sam(
            image_encoder=ImageEncoderViT(img_size=64, patch_size=16, embed_dim=dim, depth=1, num_heads=2, out_chans=dim),
            prompt_encoder=PromptEncoder(embed_dim=dim, image_embedding_size=(4, 4), input_image_size=(64, 64),
                                         mask_in_chans=4),
            mask_decoder=MaskDecoder(
                transformer_dim=dim, transformer=TwoWayTransformer(depth=1, embedding_dim=dim, mlp_dim=32, num_heads=2)
            ),
        )


def save_tiny_llava(folder: Path) -> Path:
    """A LLaVA-architecture chat VLM at toy size, with a word-level tokenizer and a chat template."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
        PreTrainedTokenizerFast,
    )

    folder.mkdir(parents=True, exist_ok=True)
    words = ["<unk>", "<s>", "</s>", "<pad>", "<image>", "USER:", "ASSISTANT:", "{", "}", "[", "]", '"id":', ",", "1", "2", "3"]
    words += [f"w{i}" for i in range(40)]
    backend = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", bos_token="<s>", eos_token="</s>",
                                        pad_token="<pad>", extra_special_tokens={"image_token": "<image>"})
    chat_template = (
        "{% for message in messages %}USER: {% for part in message['content'] %}"
        "{% if part['type'] == 'image' %}<image> {% else %}{{ part['text'] }}{% endif %}{% endfor %}{% endfor %}"
        "{% if add_generation_prompt %} ASSISTANT:{% endif %}"
    )
    processor = LlavaProcessor(
        image_processor=CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}),
        tokenizer=tokenizer, chat_template=chat_template, patch_size=16, vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
    )
    config = LlavaConfig(
        vision_config=CLIPVisionConfig(**TINY,
                                       image_size=32, patch_size=16, projection_dim=16),
        text_config=LlamaConfig(**TINY,
                                num_key_value_heads=2, vocab_size=len(words), max_position_embeddings=512,
                                bos_token_id=1, eos_token_id=2, pad_token_id=3),
        image_token_index=4, vision_feature_select_strategy="default", vision_feature_layer=-1,
    )
    with seeded():
        model = LlavaForConditionalGeneration(config)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def _bert_vocab(folder: Path) -> Path:
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "cat", "cup", "person", "rocket", "yes", "no", "what", "is",
             "?", ".", "spoon"]
    path = folder / "vocab.txt"
    path.write_text("\n".join(words + [f"w{i}" for i in range(30)]) + "\n")
    return path


def save_tiny_blip(folder: Path, kind: str = "captioning") -> Path:
    """A BLIP captioner (kind="captioning") or VQA model (kind="vqa") at toy size."""
    from transformers import (
        BertTokenizer,
        BlipConfig,
        BlipForConditionalGeneration,
        BlipForQuestionAnswering,
        BlipImageProcessor,
        BlipProcessor,
    )

    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = BertTokenizer(str(_bert_vocab(folder)), model_max_length=32)
    config = BlipConfig(
        text_config={**TINY, "vocab_size": len(tokenizer), "encoder_hidden_size": 16, "max_position_embeddings": 64,
                     "bos_token_id": tokenizer.cls_token_id, "sep_token_id": tokenizer.sep_token_id,
                     "pad_token_id": tokenizer.pad_token_id},
        vision_config={**TINY, "image_size": 32, "patch_size": 16},
        projection_dim=16,
    )
    with seeded():
        model = (BlipForConditionalGeneration if kind == "captioning" else BlipForQuestionAnswering)(config)
    processor = BlipProcessor(BlipImageProcessor(size={"height": 32, "width": 32}), tokenizer)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def tiny_compressai_model():
    """A CompressAI FactorizedPrior with 8 channels and random weights (decodes to noise)."""
    import warnings

    with warnings.catch_warnings():  # CompressAI 1.2.8 calls torch.jit.script, deprecated in torch 2.14
        warnings.simplefilter("ignore", FutureWarning)
        from compressai.models import FactorizedPrior

    with seeded():
        return FactorizedPrior(N=8, M=8)


def save_tiny_grounding_dino(folder: Path) -> Path:
    """A Grounding DINO (Swin backbone, BERT text encoder) at toy size, with its processor."""
    from transformers import (
        BertConfig,
        BertTokenizer,
        GroundingDinoConfig,
        GroundingDinoForObjectDetection,
        GroundingDinoImageProcessor,
        GroundingDinoProcessor,
        SwinConfig,
    )

    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = BertTokenizer(str(_bert_vocab(folder)))
    config = GroundingDinoConfig(
        backbone_config=SwinConfig(embed_dim=16, depths=[1, 1], num_heads=[1, 1], window_size=4, image_size=64,
                                   out_features=["stage1", "stage2"]),
        text_config=BertConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                               num_attention_heads=2, max_position_embeddings=64),
        d_model=32, encoder_layers=1, decoder_layers=2, encoder_attention_heads=2, decoder_attention_heads=2,
        encoder_ffn_dim=64, decoder_ffn_dim=64, num_queries=10, num_feature_levels=2, encoder_n_points=1,
        decoder_n_points=1, max_text_len=32, use_timm_backbone=False, use_pretrained_backbone=False,
    )
    image_processor = GroundingDinoImageProcessor(size={"shortest_edge": 64, "longest_edge": 96})
    return _save(folder, GroundingDinoForObjectDetection, config, GroundingDinoProcessor(image_processor, tokenizer))


def _save(folder, model_class, config, processor):
    """Build ``model_class(config)`` with seed 0 and save it with ``processor`` into ``folder``."""

    with seeded():
        model = model_class(config)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder
