from gpt_image_mcp.cli import main

main()
