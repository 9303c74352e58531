"""The README's main job (`make demo`); the orchestration issue turns it into the full pipeline demo."""

from __future__ import annotations

from weatherinsight.cli._common import console


def main() -> None:
    console.print("demo: not built yet")


if __name__ == "__main__":
    main()
