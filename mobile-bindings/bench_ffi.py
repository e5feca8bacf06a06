"""Verification through the Python binding against the same verification inside Rust, in the
same run: the difference is the cost of crossing the FFI boundary (target: under 10%).

    LLAVERO_BIN=target/debug/llavero PYTHONPATH=<dir with llavero_mobile.py + the release .so> \\
        python mobile-bindings/bench_ffi.py

For each case it times, in rounds interleaved so that the shared machine's noise falls on all of
them alike: a tight Rust loop (`time_native_verification`), one binding call per credential
(taking a string, and taking the credential's UTF-8 bytes, `verify_bytes`, encoded once
beforehand as an app holding bytes has them), and one `verify_batch` call per batch of 4 and of
20 credentials (joined and encoded in each call, as an app holding a list of strings does, then
asked for its `rejections()`, and freed), each set against the time Rust itself spent verifying
inside those calls (`seconds_verifying`). Medians over the rounds, per credential.
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
ROUNDS, ITERATIONS = 21, 400
# A few presentations (one OpenID4VP response), and a wallet's worth of held credentials.
BATCHES = (4, 20)


def timed(verifier, body, count):
    """Seconds per credential of `body` (which verifies `count` credentials) as the app sees
    it, and inside Rust."""
    busy = verifier.seconds_verifying()
    start = time.perf_counter()
    body()
    wall = time.perf_counter() - start
    return wall / count, (verifier.seconds_verifying() - busy) / count


def main() -> None:
    world = World(Path(tempfile.mkdtemp()))
    verifier = world.verifier()
    presentation = lm.create_presentation(world.sd_jwt_vc, ["given_name", "birthdate"], AUD, NONCE,
                                          world.now, world.holder)
    request = verifier.presentation_request(AUD, NONCE)
    now = world.now

    def loop(call, text):
        def body():
            for _ in range(ITERATIONS):
                call(text, now)
        return body

    def batch(verify_batch, text, size):
        texts = [text] * size

        def body():
            for _ in range(ITERATIONS // size):
                if verify_batch("\n".join(texts).encode(), now).rejections():
                    raise AssertionError("a credential of the batch was rejected")
        return body

    cases = {
        "SD-JWT VC + KB": (presentation, AUD, NONCE, {
            "request.verify": loop(request.verify, presentation),
            "request.verify_bytes": loop(request.verify_bytes, presentation.encode()),
            "new request + verify": loop(lambda t, n: verifier.presentation_request(AUD, NONCE).verify(t, n),
                                         presentation),
            **{f"request.verify_batch ({n})": batch(request.verify_batch, presentation, n) for n in BATCHES},
        }),
        "VC-JWT": (world.vc_jwt, None, None, {
            "verify": loop(verifier.verify, world.vc_jwt),
            "verify_bytes": loop(verifier.verify_bytes, world.vc_jwt.encode()),
            **{f"verify_batch ({n})": batch(verifier.verify_batch, world.vc_jwt, n) for n in BATCHES},
        }),
    }
    print(f"{'case':<16} {'call':<26} {'Rust loop µs':>12} {'in Rust µs':>10} {'Python µs':>10}"
          f" {'boundary':>9} {'vs loop':>8}")
    for name, (text, aud, nonce, calls) in cases.items():
        native = []
        seen = {call: ([], []) for call in calls}
        for _ in range(ROUNDS):
            native.append(verifier.time_native_verification(text, aud, nonce, now, ITERATIONS))
            for call, body in calls.items():
                wall, inside = timed(verifier, body, ITERATIONS)
                seen[call][0].append(wall)
                seen[call][1].append(inside)
        n = statistics.median(native)
        for call, (walls, insides) in seen.items():
            b, i = statistics.median(walls), statistics.median(insides)
            print(f"{name:<16} {call:<26} {n * 1e6:>12.1f} {i * 1e6:>10.1f} {b * 1e6:>10.1f}"
                  f" {100 * (b - i) / i:>8.1f}% {100 * (b - n) / n:>7.1f}%")
            name = ""


if __name__ == "__main__":
    main()
