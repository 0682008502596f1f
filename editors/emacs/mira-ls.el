;;; mira-ls.el --- mira-ls through Eglot, Emacs 28.2 and newer  -*- lexical-binding: t -*-

;; Load it from your init file:
;;
;;   (setq mira-ls-program (list (expand-file-name "~/.venvs/mira/bin/mira-ls") "serve")) ; optional
;;   (load "/path/to/mira-ls/editors/emacs/mira-ls.el")
;;   (add-hook 'python-mode-hook #'eglot-ensure)                                           ; optional
;;
;; Emacs 29 and newer have Eglot built in. On Emacs 28 (Debian 12: `apt install elpa-eglot',
;; or M-x package-install RET eglot) Eglot is a package, which this file activates with
;; `package-initialize' when it is not loaded yet.
;;
;; The OpenAI API key and endpoint come from the environment Emacs starts in
;; (MIRA_OPENAI_API_KEY or OPENAI_API_KEY, OPENAI_BASE_URL or MIRA_LLM_BASE_URL); a daemon
;; started by systemd does not see your shell's exports: set them with `setenv' before the
;; server starts, or in the unit.

;;; Code:

(require 'cl-lib)
(unless (require 'eglot nil t)
  (require 'package)
  (package-initialize)
  (require 'eglot))

(defgroup mira-ls nil "The mira-ls language server through Eglot." :group 'eglot)

(defcustom mira-ls-program '("mira-ls" "serve")
  "How to start the server: the program (a full path for a virtualenv) and its arguments."
  :type '(repeat string))

(defcustom mira-ls-initialization-options nil
  "Settings sent once at start, as a plist: only what you change, e.g.
\(:mira (:budget (:dailyUsd 2.0))).  Nil sends none (MIRA_* variables apply)."
  :type 'sexp)

(defcustom mira-ls-modes
  '(python-mode python-ts-mode js-mode js-ts-mode typescript-mode typescript-ts-mode tsx-ts-mode
    rust-mode rust-ts-mode go-mode go-ts-mode java-mode java-ts-mode
    c-mode c-ts-mode c++-mode c++-ts-mode)
  "Major modes whose buffers Eglot connects to mira-ls.
Eglot runs one server per buffer: mira-ls takes the place of, say, pyright there."
  :type '(repeat symbol))

(defclass mira-ls-server (eglot-lsp-server) ()
  :documentation "mira-ls; adds window/showDocument where Eglot lacks it (before Emacs 30).")

(defun mira-ls--contact (&optional _interactive)
  "The Eglot contact for mira-ls, from the current values of the options."
  `(mira-ls-server ,@mira-ls-program
                   ,@(when mira-ls-initialization-options
                       (list :initializationOptions mira-ls-initialization-options))))

(add-to-list 'eglot-server-programs (cons mira-ls-modes #'mira-ls--contact))

(defun mira-ls--uri-to-path (uri)
  (funcall (if (fboundp 'eglot-uri-to-path) #'eglot-uri-to-path #'eglot--uri-to-path) uri))

(defun mira-ls--uri ()
  "The buffer's file as a URI (`eglot-path-to-uri' is Emacs 30's name for it)."
  (funcall (if (fboundp 'eglot-path-to-uri) #'eglot-path-to-uri #'eglot--path-to-uri)
           (buffer-file-name)))

;; Chat answers and reports are files the server asks the editor to open. Eglot before
;; Emacs 30 does not say it can: say so, and open them in another window.
(cl-defmethod eglot-client-capabilities :around ((_server mira-ls-server))
  (let* ((caps (cl-call-next-method))
         (window (plist-get caps :window)))
    (if (plist-get window :showDocument)
        caps
      (plist-put caps :window (plist-put window :showDocument '(:support t))))))

(cl-defmethod eglot-handle-request
  ((_server mira-ls-server) (_method (eql window/showDocument))
   &key uri external takeFocus &allow-other-keys)
  "Open URI: a file in another window, anything else in a browser."
  (if (or (eq external t) (not (string-prefix-p "file:" uri)))
      (progn (browse-url uri) (list :success t))
    (let* ((path (mira-ls--uri-to-path uri))
           (buffer (find-file-noselect path)))
      (if (eq takeFocus t)
          (pop-to-buffer buffer)
        (display-buffer buffer))
      (list :success t))))

(defun mira-ls--server ()
  (or (eglot-current-server) (user-error "No Eglot server in this buffer: M-x eglot first")))

(defun mira-ls-command (command &optional arg)
  "Run mira-ls's COMMAND with one JSON object ARG (a plist) and return its result.
Interactively, show the result in the echo area."
  (interactive
   (list (completing-read "mira-ls command: "
                          '("mira.budget" "mira.runBuild" "mira.reviewChanges" "mira.reindex"
                            "mira.cacheStats" "mira.clearCache" "mira.openReport"))))
  (let ((result (jsonrpc-request (mira-ls--server) :workspace/executeCommand
                                 `(:command ,command
                                   :arguments [,(or arg (make-hash-table))])
                                 :timeout 120)))
    (when (called-interactively-p 'interactive)
      (message "%S" result))
    result))

(defun mira-ls--ask (command arg)
  "Run an LLM COMMAND with ARG without blocking Emacs; the answer file opens when ready."
  (message "Mira is thinking…")
  (jsonrpc-async-request
   (mira-ls--server) :workspace/executeCommand
   `(:command ,command :arguments [,arg])
   :timeout 600
   :success-fn (lambda (result)
                 (message "Mira: %s" (or (and (listp result) (plist-get result :cost)) "done")))
   :error-fn (lambda (err)
               (message "Mira (%s): %s" command (or (plist-get err :message) err)))))

(defun mira-ls-explain ()
  "Explain the symbol at point with mira-ls."
  (interactive)
  (mira-ls--ask "mira.explain"
                (list :uri (mira-ls--uri) :position (eglot--pos-to-lsp-position))))

(defun mira-ls-chat (question)
  "Ask mira-ls QUESTION about the code at point (the answer opens as a markdown file)."
  (interactive "sAsk Mira: ")
  (mira-ls--ask "mira.chat"
                (list :question question
                      :uri (mira-ls--uri)
                      :position (eglot--pos-to-lsp-position))))

(provide 'mira-ls)
;;; mira-ls.el ends here
