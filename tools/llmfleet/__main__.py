from llmfleet.cli import main

main()
