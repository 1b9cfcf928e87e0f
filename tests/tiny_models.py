"""A tiny ranker for the service's tests: fast to train, and it really ranks.

A randomly initialised two-layer BERT (hidden 64) with the MiniLM tokenizer, trained for a few
epochs on generated demo conversations: enough to put the right template near the top for the
demo's customer phrasings, in seconds.
"""

from pathlib import Path

from assist.demo.generator import CATALOG_PATH, generate_conversations, write_jsonl

DEMO_CATALOG = CATALOG_PATH


def make_tiny_base(out: Path) -> Path:
    """A randomly initialised two-layer BERT (hidden 64) with the MiniLM tokenizer, in `out`."""
    import torch
    from transformers import BertConfig, BertModel

    from ranker.base_models import default_base_model
    from ranker.model import load_tokenizer

    torch.manual_seed(0)
    tokenizer = load_tokenizer(default_base_model())
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        max_position_embeddings=512,
    )
    BertModel(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def train_demo_ranker(workdir: Path) -> Path:
    """A model directory over the demo catalog's keys, trained on 300 demo conversations."""
    from ranker.train import TrainConfig, train

    data = workdir / "demo.jsonl"
    write_jsonl(generate_conversations(300, seed=1), data)
    out = workdir / "model"
    train(
        TrainConfig(
            data=str(data),
            catalog=str(DEMO_CATALOG),
            out=str(out),
            base_model=str(make_tiny_base(workdir / "base")),
            epochs=6,
            batch_size=32,
            lr=1e-3,
            head_lr_mult=5.0,
            max_tokens=64,
            backend="fp32",
            progress=False,
            seed=1,
            threads=1,
        )
    )
    return out
