"""One job runner for all background work (index, jedi, blame, mining, builds, LLM calls).

Why one: every subsystem needs the same four things (run off the request path, never the
same work twice in a queue, stop when the user or the server says so, tell the editor how
far it got) and hand-built sets and locks per area got them subtly different. The runner
knows no LSP types: progress goes to a sink the caller supplies (the server maps it to
``$/progress``, the CLI may print it).

- A job runs in a *lane* ("index", "blame", "build", "mine", "jedi", "llm"); a lane runs
  its jobs in submission order on its own workers, so lanes never wait on each other.
- A job may have a *key*: submitting a key that is still queued replaces that entry (or
  merges with it, given ``merge``) in its place in the queue; a key that is running gets
  one queued follow-up, so work asked for while it ran is done once more, not lost.
- Cancellation is cooperative: the job checks ``ctx.cancelled()``. ``cancel_all`` (on
  shutdown) cancels queued jobs and tells running ones; ``stop`` does not wait for them.
- A lane's *executor* runs the job: ``ThreadExecutor`` in the lane's thread, or
  ``ProcessExecutor`` in a child process (CPU-bound work: the GIL of the request path
  never waits on it), killed on cancel.
"""

from mira_ls.jobs.context import Cancelled, CancelToken, JobContext, NullProgress, ProgressSink
from mira_ls.jobs.executors import Executor, ProcessExecutor, ThreadExecutor
from mira_ls.jobs.runner import Handle, Job, Lane, Runner

__all__ = [
    "CancelToken",
    "Cancelled",
    "Executor",
    "Handle",
    "Job",
    "JobContext",
    "Lane",
    "NullProgress",
    "ProcessExecutor",
    "ProgressSink",
    "Runner",
    "ThreadExecutor",
]
