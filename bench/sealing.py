"""What sealing costs: CPU per ballot at submit, and the close of 10,000 sealed ballots.

    /work/venv/bin/python bench/sealing.py [--subjects 30] [--ballots 10000] [--seals 5000]
        [--database-url postgresql://…/empty_db] [--no-codes]

Sealing is timed on a ballot of `--subjects` subjects with a comment (CPU time, per ballot);
then a throwaway SQLite session (or the empty PostgreSQL database named) of `--ballots` sealed
ballots, each with the code it used up (none with --no-codes), is closed with close_session:
open every seal, check it, insert the batch in random order (the seal's texts built in a
thread meanwhile), delete the sealed rows, clear the codes, store the tally, seal, destroy the
key, scrub (the code rows clustered by id on PostgreSQL). CPU counts all the process's threads.
The close is reported in wall-clock and CPU seconds, step by step, with the peak RSS it reached
and the load average; on PostgreSQL also the CPU of the database's backends.
"""

import argparse
import random
import time

from synthetic import SEAL_CPU, Step, bench_app, build_closed_session, load

from survey.boxes import Opener, seal, seal_alone
from survey.domain.layout import BallotLayout
from survey.domain.plaintext import pack
from survey.services import anonymity, closing
from survey.services.sealing import create_session_key, private_key


def per_ballot(subjects: int, seals: int) -> None:
    rng = random.Random(1)
    ratings = {
        (s, "overall"): rng.choice(("good", "fairly_good", "average", "poor"))
        for s in range(subjects)
    }
    layout = BallotLayout.of(sorted(ratings), sorted(set(ratings.values())))
    plaintext = pack(layout, 1, False, ratings, {3: "希望多下基层调研。"}, "总体满意。")
    public = create_session_key(999_999)
    opener = Opener(private_key(999_999))
    started = time.process_time()
    boxes = [seal(public, plaintext) for _ in range(seals)]
    sealing = (time.process_time() - started) / seals
    started = time.process_time()
    for box in boxes:
        opener.open(box)
    opening = (time.process_time() - started) / seals
    # Format 1, as sealed before 2026-11-30: a fresh ephemeral key, one X25519, per box.
    alone = [seal_alone(public, plaintext) for _ in range(seals // 10)]
    started = time.process_time()
    for box in alone:
        opener.open(box)
    opening_alone = (time.process_time() - started) / len(alone)
    print(f"ballot of {subjects} subjects: {len(plaintext)} bytes, box {len(boxes[0])} bytes")
    print(f"  seal (at submit)          {sealing * 1000:7.3f} ms CPU per ballot")
    print(f"  open (at close)           {opening * 1000:7.3f} ms CPU per ballot")
    print(f"  open, format 1 boxes      {opening_alone * 1000:7.3f} ms CPU per ballot")


class StepClock:
    """Wall and CPU seconds of each close step, by wrapping the step functions."""

    def __init__(self):
        self.times: dict[str, tuple[float, float]] = {}

    def wrap(self, module, name: str, label: str):
        original = getattr(module, name)

        def timed(*args, **kwargs):
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                self.times[label] = (time.perf_counter() - wall, time.process_time() - cpu)

        setattr(module, name, timed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=30)
    parser.add_argument("--ballots", type=int, default=10_000)
    parser.add_argument("--seals", type=int, default=5_000)
    parser.add_argument("--database-url", help="an empty throwaway database (default: SQLite)")
    parser.add_argument(
        "--no-codes", action="store_true", help="no code rows (as this bench before 2026-11-30)"
    )
    args = parser.parse_args()
    with bench_app(args.database_url):
        per_ballot(args.subjects, args.seals)
        clock = StepClock()
        clock.wrap(closing, "_opened", "  of which read, open and check the boxes")
        clock.wrap(closing, "BatchSeal", "  of which start the seal's texts")
        clock.wrap(closing, "rewrite_ballots", "  of which insert, delete (texts meanwhile)")
        clock.wrap(anonymity, "_insert_batch", "    of which insert the ballots")
        clock.wrap(anonymity, "clear_codes", "    of which clear the codes")
        clock.wrap(closing, "store_tally", "  of which store the tally")
        clock.wrap(closing, "seal_session", "  of which the seal (the texts' rest)")
        clock.wrap(closing, "_open_seals", "open, check, shuffle, insert, seal")
        clock.wrap(closing, "_destroy_key", "destroy the key")
        clock.wrap(anonymity, "scrub_storage", "scrub (checkpoint + VACUUM [FULL])")
        closing.scrub_storage = anonymity.scrub_storage  # closing imported the name
        cpu = time.process_time()
        close = Step("close_session")
        build_closed_session(args.subjects, args.ballots, step=close, with_codes=not args.no_codes)
        engine = "PostgreSQL" if args.database_url else "SQLite"
        print(f"session: {args.subjects} subjects, {args.ballots} sealed ballots ({engine})")
        print(f"  sealing them              {SEAL_CPU[-1]:7.2f} s CPU")
        print(close.line())
        for label, (wall, step_cpu) in clock.times.items():
            print(f"    {label:46s} {wall:6.2f} s wall {step_cpu:6.2f} s CPU")
        print(f"  whole run                 {time.process_time() - cpu:7.2f} s CPU; load {load()}")


if __name__ == "__main__":
    main()
