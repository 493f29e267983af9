"""A tiny agent for trying agent mode offline: no model, no network, no dependencies.

It reads the request from stdin (or --prompt=...) and acts on a few commands so every path of
/invoke can be exercised:

  echo TEXT        print TEXT (default: "hello <input>")
  count N          print 1..N, one line each, flushing as it goes
  sleep S          sleep S seconds, printing a heartbeat every second
  fail [CODE]      print to stderr and exit with CODE (default 1)
  env              print the working directory and a few environment variables
"""
import os
import sys
import time


def main() -> int:
    prompt = None
    for arg in sys.argv[1:]:
        if arg.startswith("--prompt="):
            prompt = arg[len("--prompt="):]
    data = sys.stdin.read() if not sys.stdin.isatty() else ""
    text = (data or prompt or "").strip()
    cmd, _, rest = text.partition(" ")

    if cmd == "count":
        for i in range(1, int(rest or "10") + 1):
            print(i, flush=True)
        return 0
    if cmd == "sleep":
        seconds = float(rest or "10")
        start = time.time()
        while time.time() - start < seconds:
            print(f"working... {int(time.time() - start)}s", flush=True)
            time.sleep(min(1.0, seconds - (time.time() - start)) if seconds > 0 else 0)
        print("done", flush=True)
        return 0
    if cmd == "fail":
        print("failing on request", file=sys.stderr, flush=True)
        return int(rest or "1")
    if cmd == "env":
        print(f"cwd={os.getcwd()}")
        print(f"user={os.getuid()}")
        print(f"sandbox={os.environ.get('AGENTTIER_SANDBOX', '')}")
        return 0
    if cmd == "echo":
        print(rest, flush=True)
        return 0
    print(f"hello {text}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
