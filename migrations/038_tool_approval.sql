-- 038 synthesized tools the user approves (issue 20, tool synthesis): what a tool is (a
-- read-only composition of mira-ls's tools, or a command template: an argv list run in the
-- workspace), which version the user approved and when, and when a tool that kept failing was
-- withdrawn from the model. 006's status: 'draft' a proposal nobody approved yet, 'active'
-- approved (offered to the model), 'disabled' rejected, 'failed' withdrawn.
ALTER TABLE synthesized_tools ADD COLUMN kind TEXT NOT NULL DEFAULT 'composition'
    CHECK (kind IN ('composition', 'command'));
ALTER TABLE synthesized_tools ADD COLUMN approved_version INTEGER;
ALTER TABLE synthesized_tools ADD COLUMN approved_at INTEGER;
ALTER TABLE synthesized_tools ADD COLUMN withdrawn_at INTEGER;
-- What a question offers the model: the approved tools of its project.
CREATE INDEX idx_synthesized_tools_offered ON synthesized_tools(project_id, name)
    WHERE status = 'active';
-- The withdrawal check reads the latest executions of one version.
CREATE INDEX idx_tool_executions_version ON tool_executions(tool_id, tool_version, executed_at);
