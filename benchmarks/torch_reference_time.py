"""How fast the PyTorch references run: a DDPM training step and multi-head attention.

    .venv/bin/python benchmarks/torch_reference_time.py [--repeat 100] [--threads N]

For the CPU, and for CUDA when there is a GPU, prints the median time over ``--repeat`` runs of:
- one training step of reference/ddpm.py (the exercise's Denoiser, Adam) on a batch of 256
  points of the 2-D data with labels, T = 50, float32, the step the hidden tests' training takes;
- reference/attention.py's multi_head_attention (when that file exists), forward only, float32,
  batch 8, 256 tokens, d_model 512, 8 heads of 64.
"""
from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reference import ddpm  # noqa: E402


def median_ms(run, device: str, repeat: int) -> float:
    """The median wall-clock time of run(), in milliseconds, after two warm-up runs."""
    def synchronize():
        if device == "cuda":
            torch.cuda.synchronize()

    for _ in range(2):
        run()
    times = []
    for _ in range(repeat):
        synchronize()
        began = time.perf_counter()
        run()
        synchronize()
        times.append((time.perf_counter() - began) * 1e3)
    return statistics.median(times)


def ddpm_step(device: str):
    data, labels = ddpm.support().make_data(2000, seed=0)
    data, labels = data.to(device), labels.to(device)
    model, optimizer, alpha_bars = ddpm.new_training(data, T=50, lr=3e-3, seed=0, cond=labels)
    generator = torch.Generator(device=device).manual_seed(0)
    return lambda: ddpm.train_step(model, optimizer, data, alpha_bars, generator, 256, labels, 0.5)


def attention_forward(device: str):
    if importlib.util.find_spec("reference.attention") is None:
        return None
    from reference import attention

    inputs = attention.random_inputs(8, 256, 512, 8, 64, device=device)
    return lambda: attention.multi_head_attention(**inputs)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    for device in devices:
        name = torch.cuda.get_device_name() if device == "cuda" else "CPU"
        print(f"{device} ({name}):")
        step_ms = median_ms(ddpm_step(device), device, args.repeat)
        print(f"  DDPM training step (batch 256, T = 50):         {step_ms:8.3f} ms")
        run = attention_forward(device)
        if run is None:
            print("  multi-head attention: reference/attention.py is not there")
        else:
            attention_ms = median_ms(run, device, args.repeat)
            print(f"  multi-head attention (8 x 256 x 512, 8 heads): {attention_ms:8.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
