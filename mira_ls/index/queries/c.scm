; Definitions: @definition.<kind> on the defining node, @name on its name
; (functions: @declarator, the name is found inside it).
(function_definition declarator: (_) @declarator) @definition.function
(struct_specifier name: (type_identifier) @name body: (_)) @definition.struct
(union_specifier name: (type_identifier) @name body: (_)) @definition.union
(enum_specifier name: (type_identifier) @name body: (_)) @definition.enum
(type_definition declarator: (type_identifier) @name) @definition.type
(preproc_function_def name: (identifier) @name) @definition.macro

; Calls.
(call_expression function: (identifier) @call.name) @call
(call_expression
  function: (field_expression argument: (_) @call.receiver field: (field_identifier) @call.name)) @call

; Imports.
(preproc_include path: (_) @import.source) @import

; Branches for complexity.
[(if_statement) (for_statement) (while_statement) (do_statement) (case_statement)
 (conditional_expression)] @branch
(binary_expression operator: ["&&" "||"]) @branch
