from convmed.cli import main

raise SystemExit(main())
