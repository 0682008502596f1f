; TypeScript's own definitions (typescript and tsx). Everything JavaScript also has
; (classes, functions, methods, calls, imports, branches) is javascript.scm, which
; languages.query_source appends: the TypeScript grammars parse it with the same node names.
(abstract_class_declaration name: (_) @name) @definition.class
(interface_declaration name: (_) @name) @definition.interface
(enum_declaration name: (_) @name) @definition.enum
(type_alias_declaration name: (_) @name) @definition.type
(internal_module name: (_) @name) @definition.namespace
(function_signature name: (identifier) @name) @definition.function
(method_signature name: (_) @name) @definition.method
(abstract_method_signature name: (_) @name) @definition.method
