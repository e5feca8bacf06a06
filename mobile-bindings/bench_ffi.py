"""Verification through the Python binding against the same verification inside Rust, in the
same run: the difference is the cost of crossing the FFI boundary (target: under 10%).

    LLAVERO_BIN=target/release/llavero PYTHONPATH=<dir with llavero_mobile.py + the release .so> \\
        python mobile-bindings/bench_ffi.py
"""

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "tests" / "python"))
from conftest import World  # noqa: E402

import llavero_mobile as lm  # noqa: E402

AUD, NONCE = "https://rp.example", "n-bench"
ROUNDS, ITERATIONS = 7, 400


def main() -> None:
    world = World(Path(tempfile.mkdtemp()))
    verifier = world.verifier()
    cases = {
        "SD-JWT VC + KB": (lm.create_presentation(world.sd_jwt_vc, ["given_name", "birthdate"], AUD, NONCE,
                                                  world.now, world.holder), AUD, NONCE),
        "VC-JWT": (world.vc_jwt, None, None),
    }
    print(f"{'case':<16} {'Rust loop µs':>12} {'Python µs':>10} {'vs loop':>8} {'in call µs':>11} {'boundary':>9} {'+ claims µs':>12}")
    for name, (text, aud, nonce) in cases.items():
        call = verifier.verify if aud is None else (lambda t, now: verifier.verify_presentation(t, aud, nonce, now))
        native, binding, inside, with_claims = [], [], [], []
        for _ in range(ROUNDS):
            native.append(verifier.time_native_verification(text, aud, nonce, world.now, ITERATIONS))
            busy = verifier.seconds_verifying()
            start = time.perf_counter()
            for _ in range(ITERATIONS):
                call(text, world.now)
            binding.append((time.perf_counter() - start) / ITERATIONS)
            inside.append((verifier.seconds_verifying() - busy) / ITERATIONS)
            start = time.perf_counter()
            for _ in range(ITERATIONS):
                call(text, world.now).claims_json(0)
            with_claims.append((time.perf_counter() - start) / ITERATIONS)
        n, b, i, c = (statistics.median(x) for x in (native, binding, inside, with_claims))
        print(f"{name:<16} {n * 1e6:>12.1f} {b * 1e6:>10.1f} {100 * (b - n) / n:>7.1f}% {i * 1e6:>11.1f}"
              f" {100 * (b - i) / i:>8.1f}% {c * 1e6:>12.1f}")


if __name__ == "__main__":
    main()
