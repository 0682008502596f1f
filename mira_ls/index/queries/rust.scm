; Definitions: @definition.<kind> on the defining node, @name on its name.
(function_item name: (identifier) @name) @definition.function
(function_signature_item name: (identifier) @name) @definition.function
(struct_item name: (type_identifier) @name) @definition.struct
(enum_item name: (type_identifier) @name) @definition.enum
(union_item name: (type_identifier) @name) @definition.union
(trait_item name: (type_identifier) @name) @definition.trait
(impl_item type: (_) @name) @definition.impl
(mod_item name: (identifier) @name body: (_)) @definition.namespace
(macro_definition name: (identifier) @name) @definition.macro
(type_item name: (type_identifier) @name) @definition.type
(const_item name: (identifier) @name) @definition.constant
(static_item name: (identifier) @name) @definition.constant

; Calls.
(call_expression function: (identifier) @call.name) @call
(call_expression
  function: (scoped_identifier path: (_) @call.receiver name: (identifier) @call.name)) @call
(call_expression
  function: (field_expression value: (_) @call.receiver field: (field_identifier) @call.name)) @call
(call_expression
  function: (generic_function function: (identifier) @call.name)) @call
(call_expression
  function: (generic_function
    function: (scoped_identifier path: (_) @call.receiver name: (identifier) @call.name))) @call
(call_expression
  function: (generic_function
    function: (field_expression value: (_) @call.receiver field: (field_identifier) @call.name))) @call

; Imports.
(use_declaration) @import
(extern_crate_declaration) @import

; Branches for complexity.
[(if_expression) (match_arm) (while_expression) (for_expression) (loop_expression)
 (try_expression)] @branch
(binary_expression operator: ["&&" "||"]) @branch
