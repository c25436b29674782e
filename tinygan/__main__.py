from tinygan.cli import main

raise SystemExit(main())
