"""Neural-network pieces shared by segmentation and fraud: the FGSM-trained autoencoder and the device."""
