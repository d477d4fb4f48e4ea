"""The official `openai` Python SDK against `spillway emulate` (driven by tests/emulate/openai_sdk.rs).

Usage: sdk_client.py BASE_URL N_WITHOUT_RETRIES N_WITH_RETRIES
Prints one JSON object: what the SDK saw, call by call. Exit 3 if `openai` is not installed.
"""
import json
import sys

try:
    import openai
except ImportError:
    print("openai python package not installed")
    sys.exit(3)

base, n_plain, n_retry = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
MESSAGES = [{"role": "user", "content": "hello there, emulator"}]


def run(client, n):
    out = []
    for _ in range(n):
        try:
            raw = client.chat.completions.with_raw_response.create(
                model="gpt-test", messages=MESSAGES, max_tokens=5
            )
            body = raw.parse()
            out.append({"status": raw.status_code, "retries": raw.retries_taken,
                        "completion_tokens": body.usage.completion_tokens})
        except openai.RateLimitError as e:
            h = e.response.headers
            out.append({"status": e.status_code,
                        "retry_after": h.get("retry-after"),
                        "retry_after_ms": h.get("retry-after-ms"),
                        "limit_requests": h.get("x-ratelimit-limit-requests"),
                        "code": (e.body or {}).get("code") if isinstance(e.body, dict) else None})
    return out


plain = openai.OpenAI(base_url=base, api_key="sk-emulated-0000", max_retries=0, timeout=30.0)
retrying = openai.OpenAI(base_url=base, api_key="sk-emulated-0000", max_retries=2, timeout=30.0)
print(json.dumps({"version": openai.__version__, "plain": run(plain, n_plain),
                  "retrying": run(retrying, n_retry)}))
