from kubectl_kserve_mn.cli import main

if __name__ == "__main__":
    main()
