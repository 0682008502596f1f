"""Background quality findings through the real server: after mining, the worst function
of a hotspot gets the LLM's finding without a command (one findings request to the
loopback server, besides the semantic analysis), and both its Information diagnostic and
its hover then carry it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from lsprotocol import types

from tests.lsp.conftest import StartServer, eventually, server_env, wait_for_progress_end
from tests.support.llm_world import KEY
from tests.support.openai_server import Answer, OpenAIServer
from tests.support.repo import DAY, T0, Repo
from tests.test_understand_analyze import analyst
from tests.test_understand_findings import BIG

SOURCE = "mira-ls quality"


def _reply(body: dict[str, Any]) -> Answer:
    """A finding for every function a findings prompt names; an analysis otherwise."""
    if body["response_format"]["json_schema"]["name"] != "quality_findings":
        return analyst(body)  # type: ignore[no-any-return]
    ids = re.findall(r"^## id (\d+):", body["messages"][-1]["content"], re.M)
    items = [
        {"id": int(i), "why_hard": "Every case is a branch of one function.",
         "what_to_split": "A table of cases."}
        for i in ids
    ]  # fmt: skip
    return Answer(text=json.dumps({"findings": items}), prompt_tokens=500, completion_tokens=80)


def _findings_requests(srv: OpenAIServer) -> int:
    return sum(
        r.body["response_format"]["json_schema"]["name"] == "quality_findings"
        for r in srv.chat_requests()
    )


async def test_a_hotspot_finding_in_the_diagnostic_and_the_hover(
    start_server: StartServer, tmp_path: Path
) -> None:
    repo = Repo(tmp_path / "ws")
    repo.commit("one", {"hot.py": BIG, "calm.py": BIG.replace("router", "quiet")}, at=T0)
    for n in range(4):
        repo.commit(f"hot {n}", touch=["hot.py"], at=T0 + (n + 1) * DAY)
    repo.commit("other", {"x.py": "X = 1\n"}, at=T0 + 9 * DAY)
    hot = repo.root / "hot.py"
    with OpenAIServer(_reply) as srv:
        env = server_env(
            tmp_path,
            MIRA_OPENAI_API_KEY=KEY,
            MIRA_LLM_BASE_URL=srv.base_url,
            MIRA_LLM_MAX_RETRIES="0",
            MIRA_ANALYSIS_BACKGROUND="true",
            MIRA_QUALITY_DIAGNOSTICS="true",
        )
        client = await start_server(repo.root, env=env)
        await wait_for_progress_end(client, "indexing")
        uri = hot.as_uri()
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id="python", version=1, text=hot.read_text()
                )
            )
        )
        await wait_for_progress_end(client, "git history")

        async def diagnostic() -> types.Diagnostic | None:
            for d in client.diagnostics.get(uri) or []:
                if d.source == SOURCE and "Why it is hard to change" in d.message:
                    return d
            return None

        d = await eventually(diagnostic, timeout=60)
        assert d is not None, client.diagnostics.get(uri)
        assert "Why it is hard to change: Every case is a branch of one function." in d.message
        assert d.message.endswith("What to split: A table of cases.")
        assert d.severity == types.DiagnosticSeverity.Information and d.data["hotspot"] is True

        hover = await client.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=0, character=5),
            )
        )
        value = hover.contents.value if hover else ""  # type: ignore[union-attr]
        assert "**Hard to change** Every case is a branch of one function." in value
        assert "**What to split** A table of cases." in value
        assert _findings_requests(srv) == 1
        prompt = next(
            r.body["messages"][-1]["content"]
            for r in srv.chat_requests()
            if r.body["response_format"]["json_schema"]["name"] == "quality_findings"
        )
        assert "hot.router" in prompt and "calm.quiet" not in prompt  # calm.py is no hotspot
