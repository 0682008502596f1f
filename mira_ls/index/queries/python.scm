; Definitions: @definition.<kind> on the defining node, @name on its name.
(class_definition name: (identifier) @name) @definition.class
(function_definition name: (identifier) @name) @definition.function

; Calls: @call on the call, @call.name on the called name, @call.receiver on what precedes it.
(call function: (identifier) @call.name) @call
(call function: (attribute object: (_) @call.receiver attribute: (identifier) @call.name)) @call

; Imports (parsed in Python).
(import_statement) @import
(import_from_statement) @import

; Branches for complexity (branch count + 1).
[(if_statement) (elif_clause) (for_statement) (while_statement) (except_clause)
 (conditional_expression) (boolean_operator) (case_clause) (for_in_clause) (if_clause)] @branch

; A decorator named without arguments is called with the function (@app.before_request).
(decorator (identifier) @call.name) @call
(decorator (attribute object: (_) @call.receiver attribute: (identifier) @call.name)) @call

; Receiver types (py_types): what names hold, captured in the same pass as the rest (a
; second query over the tree cost as much as this whole one). @var names the variable.
(assignment left: (identifier) @var) @assign
(assignment left: (attribute object: (identifier) @obj attribute: (identifier) @var)) @attr
(typed_parameter (identifier) @var type: (type) @ann) @param
(typed_default_parameter name: (identifier) @var type: (type) @ann) @param
(for_statement left: (identifier) @var) @rebind
(as_pattern_target (identifier) @var) @rebind
(named_expression name: (identifier) @var) @rebind
(decorated_definition . (decorator) @dec definition: (function_definition name: (identifier) @var))
  @decorated
; Untyped parameters: fixtures by name (test files only).
(parameters (identifier) @var) @bare
(parameters (default_parameter name: (identifier) @var)) @bare
