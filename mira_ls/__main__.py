from mira_ls.cli.main import main

raise SystemExit(main())
