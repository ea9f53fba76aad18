"""Every number quoted from the papers, each with its table and row: nothing else in the project types a
paper number."""

# Every number below was checked against the papers' text (see PAPERS.md in the project's shared notes).
# Top-1 test accuracy (%), the papers' protocol: best test accuracy over epochs and over a hyperparameter search.
PAPER = {
    "takd_table1": {
        "source": "TAKD (Mirzadeh et al., AAAI 2020) Table 1: NOKD / BLKD / TAKD",
        "cifar10": {"plain": {"chain": ("plain10", "plain4", "plain2"), "NOKD": 70.16, "BLKD": 72.57, "TAKD": 73.51},
                    # Table 1's caption says 110 -> 20 -> 8; its TAKD value is Table 3's TA = resnet14 entry
                    "resnet": {"chain": ("resnet110", "resnet14", "resnet8"), "NOKD": 88.52, "BLKD": 88.65,
                               "TAKD": 88.98, "label": "Table 1; its TAKD value is Table 3's TA = resnet14 entry"}},
        "cifar100": {"plain": {"chain": ("plain10", "plain4", "plain2"), "NOKD": 41.09, "BLKD": 44.57, "TAKD": 44.92},
                     "resnet": {"chain": ("resnet110", "resnet20", "resnet8"), "NOKD": 61.37, "BLKD": 61.41,
                                "TAKD": 61.82}},
        "imagenet": {"resnet": {"chain": ("resnet50", "resnet20", "resnet14"), "NOKD": 65.20, "BLKD": 66.60,
                                "TAKD": 67.36}},
    },
    "takd_table2_ta_size": {
        "source": "TAKD Table 2: student plain2 accuracy by TA, teacher plain10",
        "cifar10": {"plain8": 72.75, "plain6": 73.15, "plain4": 73.51},
        "cifar100": {"plain8": 44.28, "plain6": 44.57, "plain4": 44.92},
    },
    "takd_table3_ta_size": {
        "source": "TAKD Table 3: student resnet8 accuracy by TA, teacher resnet110",
        "cifar10": {"resnet56": 88.70, "resnet32": 88.73, "resnet20": 88.90, "resnet14": 88.98},
        "cifar100": {"resnet56": 61.47, "resnet32": 61.55, "resnet20": 61.82, "resnet14": 61.5},
    },
    "takd_figure6_methods": {
        "source": "TAKD Figure 6 (table): CIFAR-10, teacher resnet26, 80 epochs; FitNet/AT/FSP/BSS copied from Heo et al. 2018",
        "resnet8": {"NOKD": 86.02, "BLKD": 86.66, "FitNet": 86.73, "AT": 86.86, "FSP": 87.07, "BSS": 87.32,
                    "Mutual": 87.71, "TAKD": 88.01},
        "resnet14": {"NOKD": 89.11, "BLKD": 89.75, "FitNet": 89.72, "AT": 89.84, "FSP": 89.92, "BSS": 90.34,
                     "Mutual": 90.54, "TAKD": 91.23},
    },
    "fitnets_table5": {
        "source": "FitNets (Romero et al., ICLR 2015) Table 5: CIFAR-10, maxout teacher (~9M parameters)",
        "teacher": 90.18, "FitNet 1 (11 layers, ~250K)": 89.01, "FitNet 2 (11 layers, ~862K)": 91.06,
        "FitNet 3 (13 layers, ~1.6M)": 91.10, "FitNet 4 (19 layers, ~2.5M)": 91.61,
    },
    "fitnets_cifar100": {"source": "FitNets, CIFAR-100", "teacher": 63.54, "FitNet": 64.96},
    "dgkd_secondary": {
        "source": "DGKD (Son et al., ICCV 2021) — secondary source: from summaries of the paper, not its text",
        "cifar100_plain_10_8_6_4_2": {"TAKD": 45.14, "DGKD": 48.92},
        "cifar10_resnet_26_20_14_8": {"TAKD": 88.01, "DGKD": 89.02},
        "cifar100_plain_7_tas": {"TAKD": 44.07, "DGKD": 49.56},
    },
    # --- the papers that argue with TAKD (PAPERS.md's last section; "unverified" where only a summary was read)
    "yuan_lsr": {
        "source": "Yuan et al., CVPR 2020 (Revisiting KD via Label Smoothing Regularization): Tf-KD self-training, "
                  "CIFAR-100; and their README's poorly trained teacher",
        "cifar100_resnext29_self_training": {"alone": 81.03, "Tf-KD": 82.08},
        "poorly_trained_teacher_accuracy": 15.48,  # a ResNet18 after one epoch, which still improved its students
    },
    "cho_eskd": {
        "source": "Cho & Hariharan, ICCV 2019 (On the Efficacy of KD): early-stopped teachers (ESKD); its table "
                  "numbers are unverified here (tables are images in the copies found)",
    },
    "stanton_fidelity": {
        "source": "Stanton et al., NeurIPS 2021 (Does KD Really Work?): CIFAR-100, 5 x ResNet-56 ensemble -> "
                  "ResNet-56, tau = 4, test top-1 agreement (%)",
        "agreement": 84.5, "agreement_mixup": 86.0,
    },
    "dist_imagenet": {
        "source": "Huang et al., NeurIPS 2022 (DIST) Table: ImageNet ResNet-18 student (69.76) under stronger "
                  "teachers, KD (tau = 4) vs DIST",
        "resnet34": {"KD": 71.21, "DIST": 72.07}, "resnet50": {"KD": 71.35, "DIST": 72.12},
        "resnet101": {"KD": 71.09, "DIST": 72.08}, "resnet152": {"KD": 71.12, "DIST": 72.24},
    },
    "dkd_cifar100": {
        "source": "Zhao et al., CVPR 2022 (DKD): CIFAR-100, KD -> DKD",
        "resnet56_resnet20": {"KD": 70.66, "DKD": 71.97}, "resnet110_resnet32": {"KD": 73.08, "DKD": 74.11},
        "resnet32x4_resnet8x4": {"KD": 73.33, "DKD": 76.32},
    },
}
