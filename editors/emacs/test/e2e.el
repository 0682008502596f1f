;;; e2e.el --- Emacs as a real mira-ls client, for tests/lsp/test_emacs_e2e.py  -*- lexical-binding: t -*-
;; emacs --batch -q -l editors/emacs/test/e2e.el, with the MIRA_E2E_* variables set by the
;; test: loads editors/emacs/mira-ls.el as a user would, opens the file, M-x eglot, waits
;; for the git sections in the hover, runs mira.budget and a chat, writes JSON and exits.

(require 'json)
(defvar mira-e2e-out (make-hash-table :test #'equal))
(defvar mira-e2e-errors nil)
(defun mira-e2e-put (key value) (puthash key value mira-e2e-out))

(defun mira-e2e-wait (pred seconds)
  "Process events until PRED is non-nil or SECONDS pass; return PRED's value."
  (let ((deadline (+ (float-time) seconds)) (value nil))
    (while (and (not (setq value (funcall pred))) (< (float-time) deadline))
      (accept-process-output nil 0.1))
    value))

(defun mira-e2e-main ()
  (mira-e2e-put "emacs_version" emacs-version)
  (load (getenv "MIRA_E2E_EL") nil t)
  (setq mira-ls-program (append (json-read-from-string (getenv "MIRA_E2E_CMD")) nil))
  (setq mira-ls-initialization-options '(:mira (:git (:enabled t))))
  (mira-e2e-put "eglot_file" (locate-library "eglot"))
  (find-file (getenv "MIRA_E2E_FILE"))
  (mira-e2e-put "major_mode" (symbol-name major-mode))
  ;; What M-x eglot does: guess the contact from eglot-server-programs.
  (call-interactively #'eglot)
  (let ((server (mira-e2e-wait (lambda () (eglot-current-server)) 30)))
    (unless server (error "Eglot did not connect to mira-ls within 30 s"))
    (mira-e2e-put "server_class" (symbol-name (eieio-object-class server)))
    (mira-e2e-put "server_name" (plist-get (eglot--server-info server) :name))
    (mira-e2e-put "project_root" (expand-file-name (project-root (eglot--project server))))
    (mira-e2e-put "show_document_advertised"
                  (and (plist-get (plist-get (eglot-client-capabilities server) :window) :showDocument) t))
    ;; The hover at the function name, until history mining has added the git sections.
    (goto-char (point-min))
    (forward-line (1- (string-to-number (getenv "MIRA_E2E_LINE"))))
    (forward-char (string-to-number (getenv "MIRA_E2E_COL")))
    (let ((hover nil))
      (mira-e2e-wait
       (lambda ()
         (let* ((resp (jsonrpc-request server :textDocument/hover (eglot--TextDocumentPositionParams)))
                (contents (and resp (plist-get resp :contents))))
           (setq hover (if (stringp contents) contents (plist-get contents :value)))
           (and hover (string-match-p "Experts" hover) (string-match-p "Last changed" hover)))
         ) 90)
      (mira-e2e-put "hover" hover))
    (mira-e2e-put "budget" (mira-ls-command "mira.budget"))
    ;; A chat answered by the loopback model: the answer file opens (showDocument).
    (let* ((result (mira-ls-command "mira.chat"
                                    (list :question (getenv "MIRA_E2E_QUESTION")
                                          :uri (mira-ls--uri)
                                          :position (eglot--pos-to-lsp-position))))
           (file (plist-get result :file)))
      (mira-e2e-put "chat_file" file)
      (mira-e2e-put "chat_buffer_open"
                    (and file (mira-e2e-wait (lambda () (find-buffer-visiting file)) 10) t))
      (let ((buf (and file (find-buffer-visiting file))))
        (mira-e2e-put "chat_text" (and buf (with-current-buffer buf (buffer-string))))))
    ;; M-x mira-ls-chat, as a user runs it: asynchronous, the answer file opens when ready.
    (let ((before (mapcar #'buffer-file-name (buffer-list))))
      (mira-ls-chat (concat (getenv "MIRA_E2E_QUESTION") " (asked with M-x mira-ls-chat)"))
      (let ((opened (mira-e2e-wait
                     (lambda ()
                       (cl-find-if (lambda (b)
                                     (let ((f (buffer-file-name b)))
                                       (and f (string-suffix-p ".md" f) (not (member f before)))))
                                   (buffer-list)))
                     30)))
        (mira-e2e-put "async_chat_file" (and opened (buffer-file-name opened)))))
    ;; Do not depend on how the server exits (status): just ask it to.
    (ignore-errors (eglot-shutdown server))))

(condition-case err
    (mira-e2e-main)
  (error (push (error-message-string err) mira-e2e-errors)))
(mira-e2e-put "errors" (vconcat (reverse mira-e2e-errors)))
(with-temp-file (getenv "MIRA_E2E_OUT")
  (insert (json-encode mira-e2e-out)))
(kill-emacs 0)
