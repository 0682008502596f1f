; Definitions: @definition.<kind> on the defining node, @name on its name
; (functions: @declarator, the name is found inside it).
(function_definition declarator: (_) @declarator) @definition.function
(class_specifier name: (_) @name body: (_)) @definition.class
(struct_specifier name: (_) @name body: (_)) @definition.struct
(union_specifier name: (_) @name body: (_)) @definition.union
(enum_specifier name: (_) @name body: (_)) @definition.enum
(namespace_definition name: (_) @name) @definition.namespace
(type_definition declarator: (type_identifier) @name) @definition.type
(alias_declaration name: (type_identifier) @name) @definition.type
(preproc_function_def name: (identifier) @name) @definition.macro

; Calls.
(call_expression function: (identifier) @call.name) @call
(call_expression
  function: (qualified_identifier scope: (_) @call.receiver name: (identifier) @call.name)) @call
(call_expression
  function: (field_expression argument: (_) @call.receiver field: (field_identifier) @call.name)) @call
(call_expression function: (template_function name: (identifier) @call.name)) @call
(call_expression
  function: (qualified_identifier
    scope: (_) @call.receiver name: (template_function name: (identifier) @call.name))) @call

; Imports.
(preproc_include path: (_) @import.source) @import

; Branches for complexity.
[(if_statement) (for_statement) (for_range_loop) (while_statement) (do_statement)
 (case_statement) (catch_clause) (conditional_expression)] @branch
(binary_expression operator: ["&&" "||"]) @branch
