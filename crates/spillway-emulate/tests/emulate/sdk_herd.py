"""N independent official `openai` SDK clients against `spillway emulate` (driven by
tests/emulate/sdk_herd.rs).

Usage: sdk_herd.py BASE_URL N BOUNDARY PERIOD OFFSET
Each of N threads builds its own `openai.OpenAI` client with the SDK's default retries and
waits for the others. Once all are ready they fire together, one chat call each: at once when
PERIOD is 0, else OFFSET seconds after the next of the instants BOUNDARY + k·PERIOD (Unix
seconds: the provider's window boundaries in real time, so the first round fits one window
however long the clients took to build). Prints one
JSON object: the SDK version and, per client, the final status and the retries the SDK took
(known only for a success: a raised error does not carry it; the server's log counts them all).
Exit 3 if `openai` is not installed.
"""
import json
import math
import sys
import threading
import time

try:
    import openai
except ImportError:
    print("openai python package not installed")
    sys.exit(3)

base, n = sys.argv[1], int(sys.argv[2])
boundary, period, offset = (float(a) for a in sys.argv[3:6])
MESSAGES = [{"role": "user", "content": "hello there, emulator"}]
results = [None] * n
start = [0.0]


def choose_start():
    now = time.time()
    if period > 0:
        k = math.ceil((now + 0.05 - boundary) / period)
        start[0] = boundary + max(k, 0) * period + offset
    else:
        start[0] = now


ready = threading.Barrier(n, action=choose_start)


def client(i):
    # Default max_retries: the SDK's own retry policy is what is under test.
    sdk = openai.OpenAI(base_url=base, api_key="sk-emulated-0000", timeout=30.0)
    ready.wait()
    time.sleep(max(0.0, start[0] - time.time()))
    try:
        raw = sdk.chat.completions.with_raw_response.create(
            model="gpt-test", messages=MESSAGES, max_tokens=5
        )
        raw.parse()
        results[i] = {"status": raw.status_code, "retries": raw.retries_taken}
    except openai.APIStatusError as e:
        results[i] = {"status": e.status_code, "retries": None}


threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps({"version": openai.__version__, "clients": results}))
