"""Checks a webhook signed by linkwell with the `standardwebhooks` package (pinned in requirements.txt).

verify: WEBHOOK_SECRET (whsec_...), WEBHOOK_ID, WEBHOOK_TIMESTAMP and WEBHOOK_SIGNATURE from the
        environment, the body on standard input. Exits 0 when Webhook(secret).verify(body, headers)
        accepts it, 1 when it raises WebhookVerificationError, 3 on anything else (a broken setup).
sign:   prints Webhook(secret).sign(WEBHOOK_ID, WEBHOOK_TIMESTAMP, body), for comparison.
"""

import os
import sys
import traceback
from datetime import datetime, timezone
from importlib.metadata import version

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def main() -> int:
    mode = sys.argv[1] if len(sys.argv) > 1 else "verify"
    secret = os.environ["WEBHOOK_SECRET"]
    body = sys.stdin.buffer.read()
    print(f"standardwebhooks {version('standardwebhooks')}, mode {mode}")
    if mode == "sign":
        timestamp = datetime.fromtimestamp(int(os.environ["WEBHOOK_TIMESTAMP"]), tz=timezone.utc)
        print(Webhook(secret).sign(os.environ["WEBHOOK_ID"], timestamp, body.decode()))
        return 0
    headers = {
        "webhook-id": os.environ["WEBHOOK_ID"],
        "webhook-timestamp": os.environ["WEBHOOK_TIMESTAMP"],
        "webhook-signature": os.environ["WEBHOOK_SIGNATURE"],
    }
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError as error:
        print(f"rejected: {error}")
        return 1
    print("verified")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:
        traceback.print_exc()
        sys.exit(3)
