"""The backend a model is served with suits the CPU that serves it (ranker/serving.py,
suited_backend): a model stored as bf16 on a machine with native bfloat16 must not rank at
bf16's emulated speed on one without."""

import logging
import platform

import numpy as np
import pytest

from ranker import serving
from ranker.model import ModelMeta
from ranker.serving import suited_backend
from ranker.utils import cpu_flags, speed_flags

NATIVE = frozenset({"avx2", "avx512f", "avx512_bf16"})
AVX2_ONLY = frozenset({"avx2", "fma"})


def meta(backend: str, measured: dict | None = None) -> ModelMeta:
    metrics = {"backends": measured} if measured is not None else {}
    return ModelMeta(labels=["a"], base_model="x", backend=backend, metrics=metrics)


def m(top1: float, agreement: float, latency: float) -> dict:
    return {"dev_top1": top1, "agreement_with_fp32": agreement, "latency_128_ms": latency}


MEASURED = {
    "fp32": m(0.60, 1.0, 39.0),
    "bf16": m(0.60, 1.0, 12.0),
    "int8": m(0.55, 0.92, 14.0),  # less accurate: never a choice
    "onnx": m(0.60, 1.0, 30.0),
    "onnx-int8": m(0.60, 0.99, 13.0),
}


def test_bf16_is_served_where_the_cpu_has_native_bfloat16():
    assert suited_backend(meta("bf16", MEASURED), NATIVE) == "bf16"
    assert suited_backend(meta("bf16", MEASURED), frozenset({"amx_bf16"})) == "bf16"


def test_without_native_bfloat16_the_fastest_other_accurate_backend_serves(caplog):
    with caplog.at_level(logging.WARNING, logger="ranker.serving"):
        assert suited_backend(meta("bf16", MEASURED), AVX2_ONLY) == "onnx-int8"
    assert "no native bfloat16" in caplog.text and "onnx-int8" in caplog.text


def test_without_measurements_fp32_serves_a_bf16_model_there():
    assert suited_backend(meta("bf16"), AVX2_ONLY) == "fp32"
    only_bf16 = {"fp32": m(0.6, 1.0, 39.0), "bf16": m(0.6, 1.0, 12.0)}
    assert suited_backend(meta("bf16", only_bf16), AVX2_ONLY) == "fp32"


@pytest.mark.parametrize("backend", ["fp32", "onnx-int8", "onnx", "int8"])
def test_other_stored_backends_serve_as_stored_anywhere(backend):
    assert suited_backend(meta(backend, MEASURED), AVX2_ONLY) == backend


def test_unknown_flags_keep_the_stored_backend():
    assert suited_backend(meta("bf16", MEASURED), None) == "bf16"


@pytest.mark.skipif(platform.machine() != "x86_64", reason="x86 /proc/cpuinfo has 'flags'")
def test_this_machine_s_flags_are_read():
    flags = cpu_flags()
    assert flags is not None and {"fpu", "sse2"} <= flags


# served_backend: a backend chosen on a CPU with other instruction sets is timed again where it
# serves. load_backend and measure_latency are replaced so that each backend's time here is set.
AMX = frozenset({"avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8"})
TIMED_HERE = {"fp32": 0.020, "bf16": 0.004, "onnx": 0.016, "onnx-int8": 0.009, "int8": 0.001}


@pytest.fixture
def timed(monkeypatch):
    """The backends served_backend times, in order; this CPU's flags are AMX's."""
    seen: list[str] = []
    monkeypatch.setattr(serving, "load_backend", lambda model_dir, backend, threads: backend)

    def measure_latency(forward, **kwargs):
        seen.append(forward)
        return TIMED_HERE[forward]

    monkeypatch.setattr(serving, "measure_latency", measure_latency)
    monkeypatch.setattr(serving, "cpu_flags", lambda: AMX)
    return seen


def trained_on(flags: list[str] | None, backend: str = "onnx-int8", measured=MEASURED) -> ModelMeta:
    model = meta(backend, measured)
    if flags is not None:
        model.metrics["backend_cpu_flags"] = flags
    return model


def test_another_cpu_times_the_accurate_backends_again_and_serves_the_fastest(timed, caplog):
    with caplog.at_level(logging.WARNING, logger="ranker.serving"):
        chosen, forward = serving.served_backend("dir", trained_on(["avx2"]), threads=1)
    assert chosen == "bf16"  # 4 ms here; onnx-int8 was the training CPU's fastest
    assert forward == "bf16"  # the timed one is handed over, not loaded again
    assert sorted(timed) == ["bf16", "fp32", "onnx", "onnx-int8"]  # int8 is not accurate
    assert "this one has" in caplog.text and "serving bf16" in caplog.text


def test_the_same_cpu_keeps_the_stored_backend_without_timing(timed):
    here = speed_flags(AMX)
    assert serving.served_backend("dir", trained_on(here), threads=1) == ("onnx-int8", None)
    unrecorded = serving.served_backend("dir", trained_on(None), threads=1)
    assert unrecorded == ("onnx-int8", None)
    assert timed == []


def test_bf16_is_not_timed_where_the_cpu_emulates_it(timed, monkeypatch):
    monkeypatch.setattr(serving, "cpu_flags", lambda: AVX2_ONLY)
    chosen, _ = serving.served_backend("dir", trained_on(sorted(AMX), backend="bf16"), threads=1)
    assert chosen == "onnx-int8" and "bf16" not in timed


# choose_backend: agreement with fp32 counts the dev examples fp32 decides, not its near-ties.
def test_swapping_fp32_s_near_ties_is_no_disagreement_but_changing_a_decided_pick_is(
    tmp_path, monkeypatch
):
    ModelMeta(labels=["a", "b", "c"], base_model="x", temperature=1.0).save(tmp_path)
    decided, tie = [6.0, 0.0, 0.0], [1.0, 0.98, 0.0]  # top-1 leads by ~1.0 and by ~0.005
    fp32 = np.array([decided] * 80 + [tie] * 20, dtype=np.float32)  # (100, 3)
    y = np.array([0] * 79 + [2] + [0, 1] * 10)  # one decided example is fp32's mistake
    swapped = fp32.copy()
    swapped[80:] = [0.98, 1.0, 0.0]  # every near-tie swapped: 80% agreement overall
    flipped = swapped.copy()
    flipped[[0, 79]] = [0.0, 0.0, 6.0]  # and two decided picks changed (top-1 unchanged)
    logits = {"fp32": fp32, "onnx": fp32, "onnx-int8": swapped, "int8-mixed": flipped}
    latency = {"fp32": 0.04, "onnx": 0.03, "onnx-int8": 0.01, "int8-mixed": 0.005}

    def load_backend(model_dir, backend, threads):
        def forward(input_ids, mask):  # row i of the dev set is the one-token input [i]
            return logits[backend][input_ids[:, 0]]

        forward.backend = backend
        return forward

    monkeypatch.setattr(serving, "AUTO_BACKENDS", tuple(logits))
    monkeypatch.setattr(serving, "load_backend", load_backend)
    monkeypatch.setattr(serving, "measure_latency", lambda forward: latency[forward.backend])
    choice = serving.choose_backend(tmp_path, [[i] for i in range(100)], y, "auto")
    m = choice["measured"]
    assert m["onnx-int8"]["agreement_with_fp32"] == pytest.approx(0.80)
    assert m["onnx-int8"]["agreement_where_decided"] == 1.0
    assert m["int8-mixed"]["agreement_where_decided"] == pytest.approx(78 / 80)
    assert m["int8-mixed"]["dev_top1"] == m["fp32"]["dev_top1"]  # refused for agreement alone
    assert choice["backend"] == "onnx-int8"  # the old rule (80% overall) kept onnx


def test_models_measured_before_the_split_are_judged_on_all_of_dev():
    old = {"fp32": m(0.6, 1.0, 39.0), "onnx-int8": m(0.6, 0.97, 13.0)}
    assert serving.accurate_backends(old) == ["fp32"]
    new = {**old, "onnx-int8": {**old["onnx-int8"], "agreement_where_decided": 0.99}}
    assert serving.accurate_backends(new) == ["fp32", "onnx-int8"]
