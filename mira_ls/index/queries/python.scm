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
